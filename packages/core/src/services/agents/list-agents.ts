import { and, asc, eq, gt, type SQL } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { agents } from '../../schema';
import { agentView } from '../../views';

export interface ListAgentsInput {
  externalId?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** The organization's agents in id (creation) order, a page at a time. */
export async function listAgents(ctx: Ctx, input: ListAgentsInput) {
  const { organizationId } = requireKind(ctx.principal, 'organization');
  const filters: SQL[] = [eq(agents.organizationId, organizationId)];
  if (input.externalId !== undefined) filters.push(eq(agents.externalId, input.externalId));
  if (input.cursor) filters.push(gt(agents.id, input.cursor));
  const rows = await ctx.db
    .select()
    .from(agents)
    .where(and(...filters))
    .orderBy(asc(agents.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  return {
    agents: page.map(agentView),
    nextCursor: rows.length > input.limit ? (page.at(-1)?.id ?? null) : null,
  };
}
