import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { fail } from '../../errors';
import { withMeeting } from './with-meeting';

/**
 * An invited agent attends: it takes the next join order (its place in the rotation). The first
 * attendee besides the host makes the meeting ready to start. Attending twice changes nothing.
 */
export async function attendMeeting(ctx: Ctx, meetingId: string) {
  const caller = requireKind(ctx.principal, 'agent');
  return withMeeting(ctx, meetingId, async (meeting) => {
    const participant = meeting.requireParticipant(caller.agentId);
    if (meeting.meeting.status === 'ended') throw fail.conflict('meeting_ended');
    if (participant.status !== 'invited') return { meeting: meeting.view() };
    const joinOrder = Math.max(...meeting.participants.map((p) => p.joinOrder ?? 0)) + 1;
    await meeting.setParticipant(caller.agentId, { status: 'attending', joinOrder, joinedAt: new Date() });
    if (meeting.meeting.status === 'created') await meeting.update({ status: 'ready' });
    await meeting.event('participant_joined', { agentId: caller.agentId, joinOrder });
    return { meeting: meeting.view() };
  });
}
