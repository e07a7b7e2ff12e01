import type { Tx } from '../../db';
import { lockKeys } from '../../db';
import { AppError } from '../../errors';
import type { deliveries, messages } from '../../schema';
import { pairLock } from '../conversations/lock-keys';
import { recordReply } from '../conversations/record-reply';
import { MeetingTx } from '../meetings/meeting-tx';
import { speakInMeeting } from '../meetings/speak';
import { answerField } from './target';

type Delivery = typeof deliveries.$inferSelect;

/** Whether an endpoint's 2xx body carries an answer: `{reply}` to a sync_request, `{speech}` to a meeting_turn. */
export function answerOf(type: Delivery['type'], body: string): { content: unknown } | null {
  const field = answerField[type];
  if (!field || !body) return null;
  try {
    const parsed = JSON.parse(body) as Record<string, unknown> | null;
    if (parsed && typeof parsed === 'object' && field in parsed) return { content: parsed[field] };
  } catch {
    // A 2xx with a body that is not JSON acknowledges without answering.
  }
  return null;
}

async function reply(tx: Tx, attemptLimit: number, request: typeof messages.$inferSelect, content: unknown) {
  if (!request.sessionId || !request.senderId || !request.recipientId)
    return { deliveryIds: [], wakeAt: null };
  await lockKeys(tx, pairLock(request.senderId, request.recipientId));
  const { deliveryIds } = await recordReply(tx, attemptLimit, {
    organizationId: request.organizationId,
    agentId: request.recipientId,
    sessionId: request.sessionId,
    requestId: request.id,
    content,
  });
  return { deliveryIds, wakeAt: null };
}

async function speech(tx: Tx, attemptLimit: number, delivery: Delivery, content: unknown) {
  if (!delivery.meetingId || delivery.turnNumber === null) return { deliveryIds: [], wakeAt: null };
  const meeting = await MeetingTx.open(
    tx,
    { MAX_DELIVERY_ATTEMPTS: attemptLimit },
    delivery.organizationId,
    delivery.meetingId,
  );
  await speakInMeeting(meeting, delivery.agentId, { content, turnNumber: delivery.turnNumber });
  return { deliveryIds: meeting.deliveryIds, wakeAt: meeting.wakeAt };
}

/**
 * Applies an inline answer as if the agent had called the API (reply or speak), inside the
 * attempt's transaction but in a savepoint: a refusal (already replied, turn expired) is noted,
 * not fatal. Returns the outbox ids the answer created, the deadline it left (a meeting's next turn)
 * and the refusal if there was one.
 */
export async function applyAnswer(
  tx: Tx,
  attemptLimit: number,
  target: { delivery: Delivery; message: typeof messages.$inferSelect | null },
  answer: { content: unknown },
): Promise<{ deliveryIds: string[]; wakeAt: number | null; refused?: string }> {
  try {
    return await tx.transaction(async (savepoint) =>
      target.delivery.type === 'meeting_turn'
        ? speech(savepoint, attemptLimit, target.delivery, answer.content)
        : target.message
          ? reply(savepoint, attemptLimit, target.message, answer.content)
          : { deliveryIds: [], wakeAt: null },
    );
  } catch (error) {
    if (error instanceof AppError) {
      return { deliveryIds: [], wakeAt: null, refused: `answer refused: ${error.code}` };
    }
    throw error;
  }
}
