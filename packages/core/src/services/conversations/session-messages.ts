import { sql } from 'drizzle-orm';
import { authorizedSql, requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { rowFromJson } from '../../db';
import { messages } from '../../schema';
import { type DeliveryStatus, messageView } from '../../views';
import { visibleSessions } from './get-session';

/**
 * A session's messages in order (oldest first), a page after `after` at a time. One statement:
 * the key, the session's visibility (404 `session_not_found`), the page with delivery statuses.
 */
export async function sessionMessages(
  ctx: Ctx,
  sessionId: string,
  input: { after?: string | undefined; limit: number },
) {
  const caller = requireKind(ctx.principal, 'agent', 'organization');
  const after = input.after ? sql`AND id > ${input.after}` : sql``;
  const { rows } = await ctx.db.execute<{
    message: Record<string, unknown> | null;
    status: DeliveryStatus | null;
  }>(sql`
    SELECT to_jsonb(m) - 'search' AS message, d.status
    FROM (SELECT CASE WHEN ${authorizedSql(caller)} THEN coalesce(
            (SELECT am_fail('session_not_found', ${`No session ${sessionId} here.`}) WHERE NOT EXISTS (
              SELECT 1 FROM sessions s WHERE s.id = ${sessionId} AND ${visibleSessions(caller)})),
            true) END) AS caller(live)
    LEFT JOIN LATERAL (
      SELECT * FROM messages WHERE session_id = ${sessionId} ${after} ORDER BY id LIMIT ${input.limit + 1}
    ) m ON true
    LEFT JOIN deliveries d ON d.message_id = m.id
    ORDER BY m.id`);
  const found = rows.flatMap(({ message, status }) =>
    message ? [messageView(rowFromJson(messages, message), status)] : [],
  );
  const page = found.slice(0, input.limit);
  return { messages: page, nextCursor: found.length > input.limit ? (page.at(-1)?.id ?? null) : null };
}
