import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { fail } from '../../errors';
import { resolveAgentRefs } from '../agents/resolve-agent-refs';
import { loadRecipients } from '../messages/post-messages';
import { invited } from './meeting-tx';
import { withMeeting } from './with-meeting';

/**
 * The host invites more agents; those taking part are left as they are, those who left are
 * invited again.
 */
export async function inviteToMeeting(ctx: Ctx, meetingId: string, agentRefs: string[]) {
  const caller = requireKind(ctx.principal, 'agent');
  const agentIds = await resolveAgentRefs(ctx, agentRefs);
  return withMeeting(ctx, meetingId, async (meeting) => {
    meeting.requireHost(caller.agentId);
    if (meeting.meeting.status === 'ended') throw fail.conflict('meeting_ended');
    const unique = [...new Set(agentIds)];
    const fresh = unique.filter((id) => !meeting.participant(id));
    const again = unique.filter((id) => meeting.participant(id)?.status === 'left');
    // Every one invited must be an active agent of the organization, those invited again too.
    const checked =
      fresh.length + again.length
        ? await loadRecipients(meeting.q, caller.organizationId, [...fresh, ...again])
        : [];
    const agents = checked.filter((agent) => fresh.includes(agent.id));
    await meeting.addParticipants(
      agents.map((agent) => invited(agent.id)),
      agents,
    );
    for (const agent of agents) await meeting.event('participant_invited', { agentId: agent.id });
    for (const id of again) {
      await meeting.setParticipant(id, { status: 'invited', joinOrder: null, joinedAt: null, leftAt: null });
      await meeting.event('participant_invited', { agentId: id, again: true });
    }
    return { meeting: meeting.view() };
  });
}
