import { sql } from 'drizzle-orm';
import { authorizedSql, requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { textArray } from '../../db';
import { fail } from '../../errors';

/** An agent named by its external id in the caller's organization: `ext:<externalId>`. */
const EXTERNAL = 'ext:';

const externalIdOf = (ref: string) => (ref.startsWith(EXTERNAL) ? ref.slice(EXTERNAL.length) : null);

/**
 * Agent ids for refs that are agent ids or `ext:<externalId>` (the agent of the caller's
 * organization with that external id; 404 `agent_not_found` naming the ref if none). Plain ids
 * pass through as they are: only `ext:` refs cost a query, one for all of them, which also checks
 * the caller's key if this request has not (a dead key learns nothing of the directory).
 */
export async function resolveAgentRefs(ctx: Ctx, refs: string[]): Promise<string[]> {
  const externalIds = [...new Set(refs.map(externalIdOf).filter((id) => id !== null))];
  if (externalIds.length === 0) return refs;
  const caller = requireKind(ctx.principal, 'organization', 'agent');
  // A condition without columns is checked once, before any row: the key is checked even when
  // no agent matches.
  const authorized = caller.verified ? sql`true` : sql`(SELECT ${authorizedSql(caller)})`;
  const { rows } = await ctx.db.execute<{ id: string; external_id: string }>(sql`
    SELECT id, external_id FROM agents
    WHERE ${authorized} AND organization_id = ${caller.organizationId}
      AND external_id = ANY(${textArray(externalIds)})`);
  caller.verified = true;
  const idOf = new Map(rows.map((row) => [row.external_id, row.id]));
  return refs.map((ref) => {
    const externalId = externalIdOf(ref);
    if (externalId === null) return ref;
    const id = idOf.get(externalId);
    if (!id) throw fail.notFound('agent', ref);
    return id;
  });
}

/** `resolveAgentRefs` for one ref. */
export async function resolveAgentRef(ctx: Ctx, ref: string): Promise<string> {
  const [id] = await resolveAgentRefs(ctx, [ref]);
  return id as string;
}
