import { and, eq } from 'drizzle-orm';
import type { Queryable } from '../../db';
import { fail } from '../../errors';
import { agents } from '../../schema';

/**
 * The agent with this id in this organization; another organization's agent is just absent.
 * `forUpdate` locks its row, so changes to its credentials run one after another.
 */
export async function findAgent(
  q: Queryable,
  organizationId: string,
  agentId: string,
  { forUpdate = false }: { forUpdate?: boolean } = {},
) {
  const query = q
    .select()
    .from(agents)
    .where(and(eq(agents.organizationId, organizationId), eq(agents.id, agentId)));
  const [agent] = forUpdate ? await query.for('update') : await query;
  if (!agent) throw fail.notFound('agent', agentId);
  return agent;
}
