import type { Ctx } from '../../context';
import { messageView } from '../../views';
import { findVisibleMessageWithAttempts } from './find-message';

/** A message with its delivery state and every push attempt, oldest first (one statement). */
export async function getMessage(ctx: Ctx, messageId: string) {
  const { message, delivery, attempts } = await findVisibleMessageWithAttempts(
    ctx.db,
    ctx.principal,
    messageId,
  );
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
    attempts: attempts.map((attempt) => ({
      attempt: attempt.attempt,
      at: attempt.startedAt.toISOString(),
      durationMs: attempt.durationMs,
      responseStatus: attempt.responseStatus,
      error: attempt.error,
    })),
  };
}
