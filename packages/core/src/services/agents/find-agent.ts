import { and, eq } from 'drizzle-orm';
import type { Queryable } from '../../db';
import { fail } from '../../errors';
import { agents } from '../../schema';

/** The agent with this id in this organization; another organization's agent is just absent. */
export async function findAgent(q: Queryable, organizationId: string, agentId: string) {
  const [agent] = await q
    .select()
    .from(agents)
    .where(and(eq(agents.organizationId, organizationId), eq(agents.id, agentId)));
  if (!agent) throw fail.notFound('agent', agentId);
  return agent;
}
