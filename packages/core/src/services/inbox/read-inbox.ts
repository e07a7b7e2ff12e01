import { sql } from 'drizzle-orm';
import { authorizedSql, requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { rowFromJson } from '../../db';
import { pollUntil } from '../../poll';
import { messages } from '../../schema';
import { type DeliveryStatus, messageView } from '../../views';
import { resolveAgentRef } from '../agents/resolve-agent-refs';

export interface ReadInboxInput {
  from?: string | undefined;
  limit: number;
  /** Wait up to this long for something to arrive when the inbox is empty (long-poll). */
  waitMs: number;
}

/**
 * The caller's unacknowledged messages, oldest first, with their delivery status: one statement,
 * which also checks the caller's key. Reading does not acknowledge: a reader that crashes gets the
 * same messages again. With waitMs, the stored inbox is checked first, then polled.
 */
export async function readInbox(ctx: Ctx, input: ReadInboxInput) {
  const agent = requireKind(ctx.principal, 'agent');
  const fromSender = input.from ? sql`AND sender_id = ${await resolveAgentRef(ctx, input.from)}` : sql``;
  const read = async () => {
    const { rows } = await ctx.db.execute<{
      message: Record<string, unknown> | null;
      status: DeliveryStatus | null;
    }>(sql`
      SELECT to_jsonb(m) - 'search' AS message, d.status
      FROM (SELECT ${authorizedSql(agent)}) AS caller(live)
      LEFT JOIN LATERAL (
        SELECT * FROM messages
        WHERE recipient_id = ${agent.agentId} AND acknowledged_at IS NULL ${fromSender}
        ORDER BY id LIMIT ${input.limit}
      ) m ON true
      LEFT JOIN deliveries d ON d.message_id = m.id
      ORDER BY m.id`);
    const found = rows.flatMap(({ message, status }) =>
      message ? [messageView(rowFromJson(messages, message), status)] : [],
    );
    return found.length > 0 ? found : undefined;
  };
  return {
    messages: (await pollUntil(read, Date.now() + input.waitMs, { initialMs: 50, maxMs: 1000 })) ?? [],
  };
}
