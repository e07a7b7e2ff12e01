import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { lockKeys } from '../../db';
import { fail } from '../../errors';
import { idempotentWrite } from '../../idempotency';
import { messageView } from '../../views';
import { loadRecipients, postMessages } from '../messages/post-messages';
import { pairLock } from './lock-keys';
import { openSession } from './open-session';

export interface AsyncMessageInput {
  to: string;
  content: unknown;
  metadata?: Record<string, unknown> | undefined;
}

/** A message in the pair's session: kept in the recipient's inbox, pushed if it has an endpoint. */
export async function sendAsync(ctx: Ctx, input: AsyncMessageInput, idempotencyKey?: string) {
  const sender = requireKind(ctx.principal, 'agent');
  if (input.to === sender.agentId) throw fail.validation('An agent cannot converse with itself.');
  const scope = {
    principalId: sender.agentId,
    key: idempotencyKey,
    request: ['POST /v1/conversations/async', input],
  };
  return idempotentWrite(ctx.db, scope, async (tx) => {
    await lockKeys(tx, pairLock(sender.agentId, input.to));
    const recipients = await loadRecipients(tx, sender.organizationId, [input.to]);
    const session = await openSession(tx, sender.organizationId, sender.agentId, input.to);
    const posted = await postMessages(tx, ctx.config.MAX_DELIVERY_ATTEMPTS, {
      organizationId: sender.organizationId,
      senderId: sender.agentId,
      recipients,
      content: input.content,
      metadata: input.metadata,
      sessionId: session.id,
    });
    const [message] = posted.rows;
    if (!message) throw new Error('insert returned no row');
    return {
      status: 202,
      body: { message: messageView(message, null), sessionId: session.id },
      deliveryIds: posted.deliveryIds,
    };
  });
}
