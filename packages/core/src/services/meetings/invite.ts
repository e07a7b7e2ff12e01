import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { fail } from '../../errors';
import { resolveAgentRefs } from '../agents/resolve-agent-refs';
import { loadRecipients } from '../messages/post-messages';
import { invited } from './meeting-tx';
import { withMeeting } from './with-meeting';

/** The host invites more agents; those already taking part are left as they are. */
export async function inviteToMeeting(ctx: Ctx, meetingId: string, agentRefs: string[]) {
  const caller = requireKind(ctx.principal, 'agent');
  const agentIds = await resolveAgentRefs(ctx, agentRefs);
  return withMeeting(ctx, meetingId, async (meeting) => {
    meeting.requireHost(caller.agentId);
    if (meeting.meeting.status === 'ended') throw fail.conflict('meeting_ended');
    const fresh = [...new Set(agentIds)].filter((id) => !meeting.participant(id));
    const agents = fresh.length ? await loadRecipients(meeting.q, caller.organizationId, fresh) : [];
    await meeting.addParticipants(
      agents.map((agent) => invited(agent.id)),
      agents,
    );
    for (const agent of agents) await meeting.event('participant_invited', { agentId: agent.id });
    return { meeting: meeting.view() };
  });
}
