import { and, eq, sql } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { fail } from '../../errors';
import { deliveries } from '../../schema';
import { messageView } from '../../views';
import { findVisibleMessage } from './find-message';

/** Organization key: re-drives a dead delivery with a fresh budget of attempts, due now. */
export async function redeliverMessage(ctx: Ctx, messageId: string) {
  requireKind(ctx.principal, 'organization');
  const { message, delivery } = await findVisibleMessage(ctx.db, ctx.principal, messageId);
  if (!delivery)
    throw fail.conflict('not_dead', 'This message has no push delivery (its recipient has no endpoint).');
  // The conditional update is the claim: of two concurrent redelivers only one re-drives.
  const [revived] = await ctx.db
    .update(deliveries)
    .set({
      status: 'queued',
      nextAttemptAt: sql`now()`,
      attemptLimit: sql`${deliveries.attempts} + ${ctx.config.MAX_DELIVERY_ATTEMPTS}`,
      lastError: null,
    })
    .where(and(eq(deliveries.id, delivery.id), eq(deliveries.status, 'dead')))
    .returning({ id: deliveries.id });
  if (!revived) throw fail.conflict('not_dead', `The delivery is ${delivery.status}, not dead.`);
  return { message: messageView(message, 'queued'), deliveryIds: [revived.id] };
}
