import { sql } from 'drizzle-orm';
import { type Db, lockStatement } from '../../db';
import { describeForLog } from '../../error-chain';
import type { messages } from '../../schema';
import type { Wake } from '../../ticker';
import { pairLock } from '../conversations/lock-keys';
import { newMessage } from '../messages/post-messages';
import { isUniqueViolation } from '../unique-violation';
import { answerOf } from './apply-answer';
import { type DispatchConfig, pushOnce, record } from './dispatch';
import type { Target } from './target';

type Message = typeof messages.$inferSelect;

/**
 * Records an inline reply to a sync request whose wait is still on, in one batch: the pair's lock,
 * then one statement that records the attempt (delivered, the request acknowledged), stores the
 * reply already acknowledged (the waiting caller gets it in its response) and ends the wait. Writes
 * nothing and returns undefined when the wait is over (expired, ended) or the claim is no longer
 * ours: the general path records those. A reply that another path stored first is a unique
 * violation, also left to the general path.
 */
async function recordOnTimeReply(
  db: Db,
  target: Target,
  request: Message,
  startedAt: Date,
  content: unknown,
) {
  const { delivery } = target;
  const reply = newMessage({
    organizationId: request.organizationId,
    senderId: request.recipientId,
    recipientId: request.senderId,
    sessionId: request.sessionId,
    inReplyToId: request.id,
    content,
    acknowledgedAt: new Date(),
  });
  const [, recorded] = await db.batch([
    db.execute(lockStatement([pairLock(request.senderId as string, request.recipientId as string)])),
    db.execute<{ on_time: number }>(sql`
      WITH pending AS (
        SELECT id FROM sessions
        WHERE id = ${request.sessionId} AND status = 'waiting' AND pending_request_id = ${request.id}
        FOR UPDATE
      ), updated AS (
        UPDATE deliveries SET status = 'delivered', last_error = NULL, delivered_at = now(), next_attempt_at = now()
        WHERE id = ${delivery.id} AND attempts = ${delivery.attempts} AND status IN ('queued', 'failed')
          AND EXISTS (SELECT 1 FROM pending)
        RETURNING id
      ), attempt AS (
        INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, response_status, error)
        SELECT id, ${delivery.attempts}, ${startedAt.toISOString()}::timestamptz, ${Date.now() - startedAt.getTime()}, 200, NULL
        FROM updated
      ), acknowledged AS (
        UPDATE messages SET acknowledged_at = now()
        WHERE id = ${request.id} AND acknowledged_at IS NULL AND EXISTS (SELECT 1 FROM updated)
      ), replied AS (
        INSERT INTO messages (id, organization_id, kind, sender_id, recipient_id, session_id, in_reply_to_id,
                              content, metadata, created_at, acknowledged_at)
        SELECT ${reply.id}, ${reply.organizationId}, 'user', ${reply.senderId}, ${reply.recipientId},
               ${reply.sessionId}, ${request.id}, ${JSON.stringify(content ?? null)}::jsonb, '{}'::jsonb,
               ${reply.createdAt.toISOString()}::timestamptz, ${(reply.acknowledgedAt as Date).toISOString()}::timestamptz
        FROM updated
      ), resumed AS (
        UPDATE sessions SET status = 'active', pending_request_id = NULL, waiter_id = NULL, wait_deadline = NULL
        WHERE id IN (SELECT id FROM pending) AND EXISTS (SELECT 1 FROM updated)
      )
      SELECT count(*)::int AS on_time FROM updated`),
  ]);
  return Number(recorded.rows[0]?.on_time ?? 0) > 0 ? reply : undefined;
}

/**
 * The sync request's caller pushes its request itself: function-to-function HTTP to the
 * recipient's endpoint, whose 2xx may carry the reply inline. On time, that reply is recorded in one
 * batch and returned, so the waiting caller needs no poll; anything else (no inline reply, a late
 * one, a failure) is recorded as any delivery attempt is (a retry's time goes to `wake`), and the
 * caller polls for the reply.
 */
export async function deliverSyncRequest(
  db: Db,
  config: DispatchConfig,
  target: Target,
  request: Message,
  wake: Wake,
): Promise<Message | undefined> {
  const attempt = await pushOnce(db, config, target);
  const { outcome, startedAt } = attempt;
  const answer = outcome.ok && outcome.answer ? answerOf('sync_request', outcome.answer) : null;
  if (answer) {
    const reply = await recordOnTimeReply(db, target, request, startedAt, answer.content).catch((error) => {
      // A reply stored first by another path is expected; anything else is worth a log line.
      if (!isUniqueViolation(error, 'messages_one_reply_key')) {
        console.error(
          `delivery ${target.delivery.id}: recording the inline reply failed:`,
          describeForLog(error),
        );
      }
      return undefined;
    });
    if (reply) return reply;
  }
  wake((await record(db, config, attempt)).wakeAt);
  return undefined;
}
