import { inArray } from 'drizzle-orm';
import type { Queryable } from '../../db';
import { deliveries, type messages } from '../../schema';
import { messageView } from '../../views';

/** Wire views of many messages, each with its push delivery's status, in one extra query. */
export async function viewMessages(q: Queryable, rows: (typeof messages.$inferSelect)[]) {
  if (rows.length === 0) return [];
  const statuses = await q
    .select({ messageId: deliveries.messageId, status: deliveries.status })
    .from(deliveries)
    .where(
      inArray(
        deliveries.messageId,
        rows.map((row) => row.id),
      ),
    );
  const statusOf = new Map(statuses.map((s) => [s.messageId, s.status]));
  return rows.map((row) => messageView(row, statusOf.get(row.id) ?? null));
}
