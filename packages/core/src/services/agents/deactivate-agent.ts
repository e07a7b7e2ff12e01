import { and, eq, isNull } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { agents, apiKeys } from '../../schema';
import { agentView } from '../../views';
import { releaseAgentFromMeetings } from '../meetings/release-agent';
import { findAgent } from './find-agent';

/**
 * Deactivates the agent and revokes its tokens; its messages and history stay. It is taken out of
 * its meetings (those it hosts end). Idempotent.
 */
export async function deactivateAgent(ctx: Ctx, agentId: string) {
  const { organizationId } = requireKind(ctx.principal, 'organization');
  return ctx.db.transaction(async (tx) => {
    const existing = await findAgent(tx, organizationId, agentId, { forUpdate: true });
    if (existing.status === 'deactivated') return { agent: agentView(existing), deliveryIds: [] };
    const now = new Date();
    await tx
      .update(apiKeys)
      .set({ revokedAt: now })
      .where(and(eq(apiKeys.agentId, agentId), isNull(apiKeys.revokedAt)));
    const [agent] = await tx
      .update(agents)
      .set({ status: 'deactivated', deactivatedAt: now, updatedAt: now })
      .where(eq(agents.id, agentId))
      .returning();
    const deliveryIds = await releaseAgentFromMeetings(tx, ctx.config, organizationId, agentId);
    return { agent: agentView(agent ?? existing), deliveryIds };
  });
}
