import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { fail } from '../../errors';
import { withMeeting } from './with-meeting';

/** The host ends the meeting at any point: the pending turn is dropped, everyone is released. */
export async function endMeeting(ctx: Ctx, meetingId: string) {
  const caller = requireKind(ctx.principal, 'agent');
  return withMeeting(ctx, meetingId, async (meeting) => {
    meeting.requireHost(caller.agentId);
    if (meeting.meeting.status === 'ended') throw fail.conflict('meeting_ended');
    await meeting.end({ reason: 'host', endedBy: caller.agentId });
    return { meeting: meeting.view() };
  });
}
