import { and, eq } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { lockKeys } from '../../db';
import { fail } from '../../errors';
import { idempotentWrite } from '../../idempotency';
import { sessions } from '../../schema';
import { messageView, sessionView } from '../../views';
import { loadRecipients, postMessages } from '../messages/post-messages';
import { expireWaits } from './expire-waits';
import { pairLock, waiterLock } from './lock-keys';
import { openSession } from './open-session';
import type { AsyncMessageInput } from './send-async';

export interface SyncRequestInput extends AsyncMessageInput {
  timeoutMs: number;
}

/**
 * Records a sync request and puts its session in the waiting state, under the sender's and the
 * pair's locks: a sender waits for one reply at a time (409 agent_busy) and a session holds one
 * pending request (409 session_busy). The caller then waits with `awaitReply`.
 */
export async function startSyncRequest(ctx: Ctx, input: SyncRequestInput, idempotencyKey?: string) {
  const sender = requireKind(ctx.principal, 'agent');
  if (input.to === sender.agentId) throw fail.validation('An agent cannot send a sync request to itself.');
  if (input.timeoutMs > ctx.config.SYNC_MAX_TIMEOUT_MS) {
    throw fail.validation(`timeoutMs may be at most ${ctx.config.SYNC_MAX_TIMEOUT_MS}.`, [
      { path: 'timeoutMs', message: `must be <= ${ctx.config.SYNC_MAX_TIMEOUT_MS}` },
    ]);
  }
  const scope = {
    principalId: sender.agentId,
    key: idempotencyKey,
    request: ['POST /v1/conversations/sync', input],
  };
  const response = await idempotentWrite(ctx.db, scope, async (tx) => {
    await lockKeys(tx, waiterLock(sender.agentId), pairLock(sender.agentId, input.to));
    const recipients = await loadRecipients(tx, sender.organizationId, [input.to]);
    await expireWaits(tx, { waiterId: sender.agentId });
    const [waiting] = await tx
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(eq(sessions.waiterId, sender.agentId), eq(sessions.status, 'waiting')));
    if (waiting) {
      throw fail.conflict('agent_busy', `You are already waiting for a reply in session ${waiting.id}.`);
    }
    let session = await openSession(tx, sender.organizationId, sender.agentId, input.to);
    if (session.status === 'waiting') {
      await expireWaits(tx, { sessionId: session.id });
      session = await openSession(tx, sender.organizationId, sender.agentId, input.to);
    }
    if (session.status === 'waiting') {
      throw fail.conflict('session_busy', `Session ${session.id} already has a pending request.`);
    }
    const replyDeadline = new Date(Date.now() + input.timeoutMs);
    const posted = await postMessages(tx, ctx.config.MAX_DELIVERY_ATTEMPTS, {
      organizationId: sender.organizationId,
      senderId: sender.agentId,
      recipients,
      content: input.content,
      metadata: input.metadata,
      sessionId: session.id,
      replyDeadline,
      deliveryType: 'sync_request',
    });
    const [request] = posted.rows;
    if (!request) throw new Error('insert returned no row');
    const [updated] = await tx
      .update(sessions)
      .set({
        status: 'waiting',
        pendingRequestId: request.id,
        waiterId: sender.agentId,
        waitDeadline: replyDeadline,
      })
      .where(eq(sessions.id, session.id))
      .returning();
    return {
      status: 200,
      body: {
        session: sessionView(updated ?? session),
        request: messageView(request, null),
        deadline: replyDeadline.toISOString(),
      },
      deliveryIds: posted.deliveryIds,
    };
  });
  return { ...response.body, deliveryIds: response.deliveryIds, replayed: response.replayed };
}
