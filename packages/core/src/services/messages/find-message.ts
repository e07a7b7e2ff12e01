import { and, asc, eq } from 'drizzle-orm';
import { type Principal, requireKind } from '../../auth';
import type { Queryable } from '../../db';
import { fail } from '../../errors';
import { deliveries, deliveryAttempts, messages } from '../../schema';

/**
 * The message and its push delivery, if the caller may see it: the organization key, the sender
 * or the recipient. Anyone else gets the same 404 as for a message that does not exist.
 */
export async function findVisibleMessage(q: Queryable, principal: Principal, messageId: string) {
  const caller = requireKind(principal, 'organization', 'agent');
  const [row] = await q
    .select({ message: messages, delivery: deliveries })
    .from(messages)
    .leftJoin(deliveries, eq(deliveries.messageId, messages.id))
    .where(and(eq(messages.id, messageId), eq(messages.organizationId, caller.organizationId)));
  const visible =
    row &&
    (caller.kind === 'organization' ||
      row.message.senderId === caller.agentId ||
      row.message.recipientId === caller.agentId);
  if (!visible) throw fail.notFound('message', messageId);
  return row;
}

export async function listAttempts(q: Queryable, deliveryId: string) {
  const rows = await q
    .select()
    .from(deliveryAttempts)
    .where(eq(deliveryAttempts.deliveryId, deliveryId))
    .orderBy(asc(deliveryAttempts.attempt));
  return rows.map((row) => ({
    attempt: row.attempt,
    at: row.startedAt.toISOString(),
    durationMs: row.durationMs,
    responseStatus: row.responseStatus,
    error: row.error,
  }));
}
