import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { fail } from '../../errors';
import { messageView } from '../../views';
import { withMeeting } from './with-meeting';

/**
 * The host starts a ready meeting. Its optional content is its opening speech; the first turn
 * then goes to the next participant in join order.
 */
export async function startMeeting(ctx: Ctx, meetingId: string, input: { content?: unknown }) {
  const caller = requireKind(ctx.principal, 'agent');
  return withMeeting(ctx, meetingId, async (meeting) => {
    meeting.requireHost(caller.agentId);
    const { status } = meeting.meeting;
    if (status === 'ended') throw fail.conflict('meeting_ended');
    if (status === 'active') throw fail.conflict('meeting_already_started');
    if (status === 'created') {
      throw fail.conflict('meeting_not_ready', 'At least one invited participant must attend first.');
    }
    const now = new Date();
    await meeting.update({
      status: 'active',
      startedAt: now,
      currentSpeakerId: caller.agentId,
      turnEndsAt: now,
    });
    await meeting.event('meeting_started', { startedBy: caller.agentId });
    const message =
      input.content === undefined
        ? null
        : await meeting.post({ kind: 'user', senderId: caller.agentId, content: input.content });
    await meeting.advanceTurn(now);
    return { meeting: meeting.view(), message: message && messageView(message, null) };
  });
}
