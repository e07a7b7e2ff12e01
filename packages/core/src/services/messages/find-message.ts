import { and, eq, sql } from 'drizzle-orm';
import { type Principal, requireKind } from '../../auth';
import { type Queryable, rowFromJson } from '../../db';
import { fail } from '../../errors';
import { deliveries, deliveryAttempts, messages } from '../../schema';

type Message = typeof messages.$inferSelect;

/** The caller may see a message: the organization key, its sender or its recipient. Else 404. */
function requireVisible(principal: Principal, messageId: string, message: Message | undefined) {
  const caller = requireKind(principal, 'organization', 'agent');
  const visible =
    message &&
    message.organizationId === caller.organizationId &&
    (caller.kind === 'organization' ||
      message.senderId === caller.agentId ||
      message.recipientId === caller.agentId);
  if (!visible) throw fail.notFound('message', messageId);
  return message;
}

/**
 * The message and its push delivery, if the caller may see it. Anyone else gets the same 404 as
 * for a message that does not exist.
 */
export async function findVisibleMessage(q: Queryable, principal: Principal, messageId: string) {
  const organizationId = requireKind(principal, 'organization', 'agent').organizationId;
  const [row] = await q
    .select({ message: messages, delivery: deliveries })
    .from(messages)
    .leftJoin(deliveries, eq(deliveries.messageId, messages.id))
    .where(and(eq(messages.id, messageId), eq(messages.organizationId, organizationId)));
  return { message: requireVisible(principal, messageId, row?.message), delivery: row?.delivery ?? null };
}

/**
 * The message, its push delivery and every attempt, oldest first, in one statement, so from one
 * snapshot: two reads could catch an attempt recorded between them beside the status from before.
 */
export async function findVisibleMessageWithAttempts(q: Queryable, principal: Principal, messageId: string) {
  const organizationId = requireKind(principal, 'organization', 'agent').organizationId;
  const { rows } = await q.execute<{
    message: Record<string, unknown>;
    delivery: Record<string, unknown> | null;
    attempts: Record<string, unknown>[];
  }>(sql`
    SELECT to_jsonb(m) - 'search' AS message, to_jsonb(d) AS delivery,
           coalesce((SELECT jsonb_agg(to_jsonb(a) ORDER BY a.attempt) FROM delivery_attempts a
                     WHERE a.delivery_id = d.id), '[]'::jsonb) AS attempts
    FROM messages m LEFT JOIN deliveries d ON d.message_id = m.id
    WHERE m.id = ${messageId} AND m.organization_id = ${organizationId}`);
  const [row] = rows;
  const message = requireVisible(principal, messageId, row && rowFromJson(messages, row.message));
  return {
    message,
    delivery: row?.delivery ? rowFromJson(deliveries, row.delivery) : null,
    attempts: (row?.attempts ?? []).map((attempt) => rowFromJson(deliveryAttempts, attempt)),
  };
}
