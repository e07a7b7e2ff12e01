import { type SQL, sql } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { rowFromJson } from '../../db';
import { sessions } from '../../schema';
import { sessionView } from '../../views';
import { resolveAgentRef } from '../agents/resolve-agent-refs';
import { checkedCaller, subjectAgent } from '../messages/checked-caller';
import { expireWaitsStatement } from './expire-waits';

export interface ListSessionsInput {
  status?: 'active' | 'waiting' | 'ended' | undefined;
  /** The peer (an id or `ext:` ref). */
  with?: string | undefined;
  /** The organization key's choice of agent (an agent token is always itself). */
  agentId?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

/**
 * The caller's sessions (an agent token), or the organization's (its key, optionally one agent's),
 * newest first, each with the peer of the agent they are listed for. One batch: the key checked,
 * waits past their deadline expired (a read shows them as they are), then the page.
 */
export async function listSessions(ctx: Ctx, input: ListSessionsInput) {
  const caller = requireKind(ctx.principal, 'agent', 'organization');
  const me = await subjectAgent(ctx, caller, input.agentId, 'sessions');
  const peer = input.with ? await resolveAgentRef(ctx, input.with) : null;
  const conditions: SQL[] = [sql`organization_id = ${caller.organizationId}`];
  const involves = (id: string) => sql`(agent_a = ${id} OR agent_b = ${id})`;
  if (me) conditions.push(involves(me));
  if (peer) conditions.push(involves(peer));
  if (input.status) conditions.push(sql`status = ${input.status}`);
  if (input.cursor) conditions.push(sql`id < ${input.cursor}`);
  const named = [caller.kind === 'organization' ? me : null, peer].filter((id) => id !== null);
  const [, , page] = await ctx.db.batch([
    ctx.db.execute(sql`SELECT live FROM ${checkedCaller(caller, named)}`),
    ctx.db.execute(expireWaitsStatement(me ? { involving: me } : { organizationId: caller.organizationId })),
    ctx.db.execute<{ session: Record<string, unknown> }>(sql`
      SELECT to_jsonb(s) AS session FROM sessions s
      WHERE ${sql.join(conditions, sql` AND `)}
      ORDER BY id DESC LIMIT ${input.limit + 1}`),
  ]);
  const found = page.rows.map((row) => rowFromJson(sessions, row.session));
  const rows = found.slice(0, input.limit);
  return {
    sessions: rows.map((row) => ({
      ...sessionView(row),
      peerId: me === null ? null : row.agentA === me ? row.agentB : row.agentA,
    })),
    nextCursor: found.length > input.limit ? (rows.at(-1)?.id ?? null) : null,
  };
}
