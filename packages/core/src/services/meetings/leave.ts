import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { AppError, fail } from '../../errors';
import { withMeeting } from './with-meeting';

/** A participant other than the host leaves the meeting (see MeetingTx.leave). */
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
    await meeting.leave(caller.agentId);
    return { meeting: meeting.view() };
  });
}
