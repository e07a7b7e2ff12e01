import { and, asc, eq, gt, ilike, or, type SQL } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { agents } from '../../schema';
import { agentView, directoryEntryView } from '../../views';

export interface ListAgentsInput {
  externalId?: string | undefined;
  /** Words found in the name, description or external id (case-insensitive). */
  q?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** `q` as a literal ILIKE pattern: its own `%`, `_` and `\` match themselves. */
const containing = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * The organization's agents in id (creation) order, a page at a time. The organization key sees
 * everything; an agent token sees the directory: who its peers are and whether they have an
 * endpoint, never their endpoint URLs.
 */
export async function listAgents(ctx: Ctx, input: ListAgentsInput) {
  const caller = requireKind(ctx.principal, 'organization', 'agent');
  const filters: (SQL | undefined)[] = [eq(agents.organizationId, caller.organizationId)];
  if (input.externalId !== undefined) filters.push(eq(agents.externalId, input.externalId));
  if (input.q) {
    const pattern = containing(input.q);
    filters.push(
      or(ilike(agents.name, pattern), ilike(agents.description, pattern), ilike(agents.externalId, pattern)),
    );
  }
  if (input.cursor) filters.push(gt(agents.id, input.cursor));
  const rows = await ctx.db
    .select()
    .from(agents)
    .where(and(...filters))
    .orderBy(asc(agents.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  return {
    agents: caller.kind === 'organization' ? page.map(agentView) : page.map(directoryEntryView),
    nextCursor: rows.length > input.limit ? (page.at(-1)?.id ?? null) : null,
  };
}
