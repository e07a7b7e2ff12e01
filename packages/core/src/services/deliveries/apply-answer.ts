import type { Tx } from '../../db';
import { lockKeys } from '../../db';
import { AppError } from '../../errors';
import type { deliveries, messages } from '../../schema';
import { pairLock } from '../conversations/lock-keys';
import { recordReply } from '../conversations/record-reply';

/** Whether an endpoint's 2xx body carries an answer: `{ "reply": ... }` to a sync_request. */
export function answerOf(
  type: (typeof deliveries.$inferSelect)['type'],
  body: string,
): { content: unknown } | null {
  if (type !== 'sync_request' || !body) return null;
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object' && 'reply' in parsed) return { content: parsed.reply };
  } catch {
    // A 2xx with a body that is not JSON acknowledges without answering.
  }
  return null;
}

/**
 * Applies an inline answer as if the agent had called the API (reply), inside the attempt's
 * transaction but in a savepoint: a refusal (already replied, session ended) is noted, not fatal.
 * Returns outbox ids the answer created, and the refusal if there was one.
 */
export async function applyAnswer(
  tx: Tx,
  attemptLimit: number,
  request: typeof messages.$inferSelect,
  answer: { content: unknown },
): Promise<{ deliveryIds: string[]; refused?: string }> {
  if (!request.sessionId || !request.senderId || !request.recipientId) return { deliveryIds: [] };
  try {
    return await tx.transaction(async (savepoint) => {
      await lockKeys(savepoint, pairLock(request.senderId as string, request.recipientId as string));
      const { deliveryIds } = await recordReply(savepoint, attemptLimit, {
        organizationId: request.organizationId,
        agentId: request.recipientId as string,
        sessionId: request.sessionId as string,
        requestId: request.id,
        content: answer.content,
      });
      return { deliveryIds };
    });
  } catch (error) {
    if (error instanceof AppError) return { deliveryIds: [], refused: `inline reply refused: ${error.code}` };
    throw error;
  }
}
