import { type SQL, sql } from 'drizzle-orm';
import { authorizedSql, type Principal, requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { rowFromJson } from '../../db';
import { fail } from '../../errors';
import { sessions } from '../../schema';
import { sessionView } from '../../views';
import { expireWaitsStatement } from './expire-waits';

/** Sessions the caller may read: its own (an agent), or its organization's (the organization key). */
export function visibleSessions(caller: Exclude<Principal, { kind: 'admin' }>): SQL {
  return caller.kind === 'agent'
    ? sql`(s.agent_a = ${caller.agentId} OR s.agent_b = ${caller.agentId})`
    : sql`s.organization_id = ${caller.organizationId}`;
}

/**
 * A session with its counts: messages, unacknowledged, and per side what each agent sent and has
 * not yet acknowledged. One batch: the key checked, the wait expired if past its deadline, then
 * the session and each count as its own subquery (no join to inflate them). 404 if not the
 * caller's.
 */
export async function getSession(ctx: Ctx, sessionId: string) {
  const caller = requireKind(ctx.principal, 'agent', 'organization');
  const [, , found] = await ctx.db.batch([
    ctx.db.execute(sql`SELECT ${authorizedSql(caller)}`),
    ctx.db.execute(expireWaitsStatement({ sessionId })),
    ctx.db.execute<{
      session: Record<string, unknown>;
      messages: number;
      sent_by_a: number;
      sent_by_b: number;
      unacknowledged_by_a: number;
      unacknowledged_by_b: number;
    }>(sql`
      SELECT to_jsonb(s) AS session,
        (SELECT count(*) FROM messages WHERE session_id = s.id)::int AS messages,
        (SELECT count(*) FROM messages WHERE session_id = s.id AND sender_id = s.agent_a)::int AS sent_by_a,
        (SELECT count(*) FROM messages WHERE session_id = s.id AND sender_id = s.agent_b)::int AS sent_by_b,
        (SELECT count(*) FROM messages WHERE session_id = s.id AND recipient_id = s.agent_a
           AND acknowledged_at IS NULL)::int AS unacknowledged_by_a,
        (SELECT count(*) FROM messages WHERE session_id = s.id AND recipient_id = s.agent_b
           AND acknowledged_at IS NULL)::int AS unacknowledged_by_b
      FROM sessions s WHERE s.id = ${sessionId} AND ${visibleSessions(caller)}`),
  ]);
  const [row] = found.rows;
  if (!row) throw fail.notFound('session', sessionId);
  const session = rowFromJson(sessions, row.session);
  return {
    session: sessionView(session),
    counts: {
      messages: row.messages,
      unacknowledged: row.unacknowledged_by_a + row.unacknowledged_by_b,
      bySide: [
        { agentId: session.agentA, sent: row.sent_by_a, unacknowledged: row.unacknowledged_by_a },
        { agentId: session.agentB, sent: row.sent_by_b, unacknowledged: row.unacknowledged_by_b },
      ],
    },
  };
}
