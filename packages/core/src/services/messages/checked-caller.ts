import { type SQL, sql } from 'drizzle-orm';
import { authorizedSql, type Principal } from '../../auth';
import type { Ctx } from '../../context';
import { fail } from '../../errors';
import { resolveAgentRef } from '../agents/resolve-agent-refs';

type Caller = Exclude<Principal, { kind: 'admin' }>;

/**
 * The agent a listing is about: an agent token is always itself (an `agentId` is refused), the
 * organization key names one with `agentId` (an id or `ext:` ref) or none (its whole organization).
 */
export async function subjectAgent(ctx: Ctx, caller: Caller, agentId: string | undefined, what: string) {
  if (caller.kind === 'agent') {
    if (agentId)
      throw fail.forbidden(`agentId is for the organization key; an agent token lists its own ${what}.`);
    return caller.agentId;
  }
  return agentId ? resolveAgentRef(ctx, agentId) : null;
}

/**
 * A one-row FROM item (`caller(live)`) for a read that checks what it may in its own statement:
 * the caller's key first (401 `unauthorized`), then that each of `agentIds` is an agent of the
 * caller's organization (404 `agent_not_found`, as if another organization's were absent).
 */
export function checkedCaller(caller: Caller, agentIds: string[]): SQL {
  const missing = [...new Set(agentIds)].map(
    (id) => sql`(SELECT am_fail('agent_not_found', ${`No agent ${id} here.`}) WHERE NOT EXISTS (
      SELECT 1 FROM agents WHERE id = ${id} AND organization_id = ${caller.organizationId}))`,
  );
  // CASE decides the order: the key, then the agents.
  return sql`(SELECT CASE WHEN ${authorizedSql(caller)} THEN coalesce(${sql.join([...missing, sql`true`], sql`, `)}) END) AS caller(live)`;
}
