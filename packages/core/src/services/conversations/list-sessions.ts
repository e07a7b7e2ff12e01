import { type SQL, sql } from 'drizzle-orm';
import { authorizedSql, requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { rowFromJson } from '../../db';
import { sessions } from '../../schema';
import { sessionView } from '../../views';
import { resolveAgentRef } from '../agents/resolve-agent-refs';
import { expireWaitsStatement } from './expire-waits';

export interface ListSessionsInput {
  status?: 'active' | 'waiting' | 'ended' | undefined;
  /** The peer (an id or `ext:` ref). */
  with?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

/**
 * The caller's sessions, newest first, each with its peer. One batch: the key checked, the
 * caller's waits past their deadline expired (a read shows them as they are), then the page.
 */
export async function listSessions(ctx: Ctx, input: ListSessionsInput) {
  const me = requireKind(ctx.principal, 'agent');
  const peer = input.with ? await resolveAgentRef(ctx, input.with) : null;
  const conditions: SQL[] = [sql`(agent_a = ${me.agentId} OR agent_b = ${me.agentId})`];
  if (peer) conditions.push(sql`(agent_a = ${peer} OR agent_b = ${peer})`);
  if (input.status) conditions.push(sql`status = ${input.status}`);
  if (input.cursor) conditions.push(sql`id < ${input.cursor}`);
  const [, , page] = await ctx.db.batch([
    ctx.db.execute(sql`SELECT ${authorizedSql(me)}`),
    ctx.db.execute(expireWaitsStatement({ involving: me.agentId })),
    ctx.db.execute<{ session: Record<string, unknown> }>(sql`
      SELECT to_jsonb(s) AS session FROM sessions s
      WHERE ${sql.join(conditions, sql` AND `)}
      ORDER BY id DESC LIMIT ${input.limit + 1}`),
  ]);
  const rows = page.rows.slice(0, input.limit).map((row) => rowFromJson(sessions, row.session));
  return {
    sessions: rows.map((row) => ({
      ...sessionView(row),
      peerId: row.agentA === me.agentId ? row.agentB : row.agentA,
    })),
    nextCursor: page.rows.length > input.limit ? (rows.at(-1)?.id ?? null) : null,
  };
}
