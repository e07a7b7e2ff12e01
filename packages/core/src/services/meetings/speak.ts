import { sql } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { AppError, fail } from '../../errors';
import { messageView } from '../../views';
import type { MeetingTx } from './meeting-tx';
import { withMeeting } from './with-meeting';

/** True when the agent's latest turn in the meeting ended by timing out (just now, or before). */
async function lastTurnTimedOut(meeting: MeetingTx, agentId: string): Promise<boolean> {
  if (meeting.timedOutNow(agentId)) return true;
  const { rows } = await meeting.q.execute<{ expired: boolean }>(sql`
    SELECT EXISTS (
      SELECT 1 FROM meeting_events e
      WHERE e.meeting_id = ${meeting.meeting.id} AND e.type = 'turn_timed_out' AND e.data->>'speakerId' = ${agentId}
        AND (e.data->>'turnNumber')::int = (
          SELECT max((s.data->>'turnNumber')::int) FROM meeting_events s
          WHERE s.meeting_id = ${meeting.meeting.id} AND s.type = 'turn_started' AND s.data->>'speakerId' = ${agentId})
    ) AS expired`);
  return rows[0]?.expired === true;
}

/**
 * The current speaker speaks, which ends its turn. Overdue turns were applied when the meeting was
 * opened, so a speech that comes after its deadline is refused with turn_expired rather than taken
 * as the next speaker's. `turnNumber`, when given (an autoRun answer, or a caller that says which
 * turn it speaks in), must be the current turn: an earlier one is turn_expired, so a late speech
 * never lands in a later turn of the same agent.
 */
export async function speakInMeeting(
  meeting: MeetingTx,
  agentId: string,
  input: {
    content: unknown;
    turnNumber?: number | undefined;
    metadata?: Record<string, unknown> | undefined;
  },
) {
  meeting.requireParticipant(agentId);
  const { status, currentSpeakerId, turnNumber } = meeting.meeting;
  if (status !== 'active') throw fail.conflict('meeting_not_active', `The meeting is ${status}.`);
  const expired = () => new AppError(409, 'turn_expired', 'Your turn ended before your speech arrived.');
  if (input.turnNumber !== undefined && input.turnNumber < turnNumber) throw expired();
  if (currentSpeakerId !== agentId || (input.turnNumber !== undefined && input.turnNumber !== turnNumber)) {
    // Without a turn number, an agent whose own last turn timed out is told it came too late.
    if (input.turnNumber === undefined && (await lastTurnTimedOut(meeting, agentId))) throw expired();
    throw fail.conflict('not_your_turn', `It is ${currentSpeakerId}'s turn.`);
  }
  const message = await meeting.post({
    kind: 'user',
    senderId: agentId,
    content: input.content,
    ...(input.metadata && { metadata: input.metadata }),
  });
  await meeting.advanceTurn(new Date());
  return { meeting: meeting.view(), message: messageView(message, null) };
}

export async function speak(
  ctx: Ctx,
  meetingId: string,
  input: {
    content: unknown;
    turnNumber?: number | undefined;
    metadata?: Record<string, unknown> | undefined;
  },
) {
  const caller = requireKind(ctx.principal, 'agent');
  return withMeeting(ctx, meetingId, (meeting) => speakInMeeting(meeting, caller.agentId, input), {
    optimistic: true,
  });
}
