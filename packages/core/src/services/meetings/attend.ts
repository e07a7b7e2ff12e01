import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { fail } from '../../errors';
import { withMeeting } from './with-meeting';

/**
 * An invited agent attends: it takes the next join order (its place in the rotation). The first
 * attendee besides the host makes the meeting ready to start. Attending twice changes nothing; a
 * participant who left may attend again, at the end of the rotation.
 */
export async function attendMeeting(ctx: Ctx, meetingId: string) {
  const caller = requireKind(ctx.principal, 'agent');
  return withMeeting(ctx, meetingId, async (meeting) => {
    // One who left is still invited: it may come back.
    const participant = meeting.participant(caller.agentId);
    if (!participant) throw fail.notFound('meeting', meetingId);
    if (meeting.meeting.status === 'ended') throw fail.conflict('meeting_ended');
    if (participant.status !== 'invited' && participant.status !== 'left') return { meeting: meeting.view() };
    const rejoined = participant.status === 'left';
    const joinOrder = Math.max(...meeting.participants.map((p) => p.joinOrder ?? 0)) + 1;
    await meeting.setParticipant(caller.agentId, {
      status: 'attending',
      joinOrder,
      joinedAt: new Date(),
      leftAt: null,
    });
    if (meeting.meeting.status === 'created') await meeting.update({ status: 'ready' });
    await meeting.event('participant_joined', {
      agentId: caller.agentId,
      joinOrder,
      ...(rejoined && { rejoined }),
    });
    return { meeting: meeting.view() };
  });
}
