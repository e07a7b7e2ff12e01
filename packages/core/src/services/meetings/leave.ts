import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { AppError, fail } from '../../errors';
import { withMeeting } from './with-meeting';

/**
 * A participant other than the host leaves the rotation; if it was speaking, the turn passes.
 * Before the start, a meeting left with no attendee but the host is no longer ready.
 */
export async function leaveMeeting(ctx: Ctx, meetingId: string) {
  const caller = requireKind(ctx.principal, 'agent');
  return withMeeting(ctx, meetingId, async (meeting) => {
    const participant = meeting.requireParticipant(caller.agentId);
    if (meeting.meeting.hostId === caller.agentId) {
      throw new AppError(409, 'host_cannot_leave', 'The host cannot leave; end the meeting instead.');
    }
    if (meeting.meeting.status === 'ended') throw fail.conflict('meeting_ended');
    if (participant.status === 'invited')
      throw fail.conflict('not_attending', 'You never attended this meeting.');
    const wasSpeaking = participant.status === 'speaking';
    await meeting.setParticipant(caller.agentId, { status: 'left', leftAt: new Date() });
    await meeting.event('participant_left', { agentId: caller.agentId });
    if (wasSpeaking) await meeting.advanceTurn(new Date());
    const othersAttending = meeting.participants.some(
      (p) => p.agentId !== meeting.meeting.hostId && p.status === 'attending',
    );
    if (meeting.meeting.status === 'ready' && !othersAttending) await meeting.update({ status: 'created' });
    return { meeting: meeting.view() };
  });
}
