import type { Ctx } from '../../context';
import { messageView } from '../../views';
import { findVisibleMessage, listAttempts } from './find-message';

/** A message with its delivery state and every push attempt, oldest first. */
export async function getMessage(ctx: Ctx, messageId: string) {
  const { message, delivery } = await findVisibleMessage(ctx.db, ctx.principal, messageId);
  return {
    message: messageView(message, delivery?.status ?? null),
    delivery: delivery && {
      id: delivery.id,
      status: delivery.status,
      attempts: delivery.attempts,
      nextAttemptAt:
        delivery.status === 'queued' || delivery.status === 'failed'
          ? delivery.nextAttemptAt.toISOString()
          : null,
      lastError: delivery.lastError,
    },
    attempts: delivery ? await listAttempts(ctx.db, delivery.id) : [],
  };
}
