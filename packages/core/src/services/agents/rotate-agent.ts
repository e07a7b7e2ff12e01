import { and, eq, isNull } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { fail } from '../../errors';
import { agents, apiKeys } from '../../schema';
import { agentView } from '../../views';
import { insertAgentKey, issueAgentCredentials } from './credentials';
import { findAgent } from './find-agent';

/** Replaces the agent's token and signing secret; the old token stops working at once. */
export async function rotateAgent(ctx: Ctx, agentId: string) {
  const { organizationId } = requireKind(ctx.principal, 'organization');
  const credentials = await issueAgentCredentials(ctx.config.ENCRYPTION_KEY);
  return ctx.db.transaction(async (tx) => {
    // Locked: two rotations at once must not both leave a live token.
    const existing = await findAgent(tx, organizationId, agentId, { forUpdate: true });
    if (existing.status !== 'active')
      throw fail.conflict('agent_inactive', `Agent ${agentId} is deactivated.`);
    await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.agentId, agentId), isNull(apiKeys.revokedAt)));
    await insertAgentKey(tx, organizationId, agentId, credentials);
    const [agent] = await tx
      .update(agents)
      .set({ signingSecretEncrypted: credentials.signingSecretEncrypted, updatedAt: new Date() })
      .where(eq(agents.id, agentId))
      .returning();
    return {
      agent: agentView(agent ?? existing),
      token: credentials.token,
      signingSecret: credentials.signingSecret,
    };
  });
}
