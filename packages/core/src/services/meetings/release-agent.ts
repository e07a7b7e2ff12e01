import { and, asc, eq, inArray, ne } from 'drizzle-orm';
import type { Tx } from '../../db';
import type { Config } from '../../env';
import { meetingParticipants, meetings } from '../../schema';
import { MeetingTx } from './meeting-tx';

/**
 * Takes a deactivated agent out of every meeting that is not over, each under its meeting's lock:
 * the meetings it hosts end (nobody could end them any more), in the others it leaves (its turns
 * would only time out). Returns the outbox ids this produced.
 */
export async function releaseAgentFromMeetings(
  tx: Tx,
  config: Pick<Config, 'MAX_DELIVERY_ATTEMPTS'>,
  organizationId: string,
  agentId: string,
): Promise<string[]> {
  const rows = await tx
    .select({ meetingId: meetings.id })
    .from(meetingParticipants)
    .innerJoin(meetings, eq(meetings.id, meetingParticipants.meetingId))
    .where(
      and(
        eq(meetingParticipants.agentId, agentId),
        // An invitation never taken changes nothing (and cannot be taken any more).
        inArray(meetingParticipants.status, ['attending', 'speaking']),
        ne(meetings.status, 'ended'),
        eq(meetings.organizationId, organizationId),
      ),
    )
    .orderBy(asc(meetings.id));
  const deliveryIds: string[] = [];
  for (const { meetingId } of rows) {
    const meeting = await MeetingTx.open(tx, config, organizationId, meetingId);
    if (meeting.meeting.status === 'ended') continue; // its overdue turns just reached maxTurns
    if (meeting.meeting.hostId === agentId) {
      await meeting.end({ reason: 'host_deactivated', endedBy: null });
    } else {
      await meeting.leave(agentId);
    }
    deliveryIds.push(...meeting.deliveryIds);
  }
  return deliveryIds;
}
