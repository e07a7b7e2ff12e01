import type { Ctx } from '../../context';
import { inSnapshot, type Tx } from '../../db';
import { messageView } from '../../views';
import { findVisibleMessage, listAttempts } from './find-message';

/**
 * A message with its delivery state and every push attempt, oldest first, read from one snapshot:
 * two plain reads could catch an attempt recorded between them beside the status from before it.
 */
export async function getMessage(ctx: Ctx, messageId: string) {
  return inSnapshot(ctx.db, (tx) => readMessage(tx, ctx, messageId));
}

async function readMessage(tx: Tx, ctx: Ctx, messageId: string) {
  const { message, delivery } = await findVisibleMessage(tx, ctx.principal, messageId);
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
    attempts: delivery ? await listAttempts(tx, delivery.id) : [],
  };
}
