import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { idempotentWrite } from '../../idempotency';
import { messageView } from '../../views';
import { loadRecipients, postMessages } from './post-messages';

export interface SendMessageInput {
  to: string | string[];
  content: unknown;
  metadata?: Record<string, unknown> | undefined;
}

/**
 * One-way message: one message per recipient, each kept in the recipient's inbox and pushed to
 * its endpoint if it has one. Returns the outbox ids to hand to the dispatcher after commit.
 */
export async function sendMessage(ctx: Ctx, input: SendMessageInput, idempotencyKey?: string) {
  const sender = requireKind(ctx.principal, 'agent');
  const recipientIds = [...new Set(Array.isArray(input.to) ? input.to : [input.to])];
  const scope = { principalId: sender.agentId, key: idempotencyKey, request: ['POST /v1/messages', input] };
  return idempotentWrite(ctx.db, scope, async (tx) => {
    const posted = await postMessages(tx, ctx.config.MAX_DELIVERY_ATTEMPTS, {
      organizationId: sender.organizationId,
      senderId: sender.agentId,
      recipients: await loadRecipients(tx, sender.organizationId, recipientIds),
      content: input.content,
      metadata: input.metadata,
    });
    const views = posted.rows.map((row) => messageView(row, null));
    const [first] = views;
    if (!first) throw new Error('insert returned no row');
    return {
      status: 202,
      body: Array.isArray(input.to) ? { messages: views } : { message: first },
      deliveryIds: posted.deliveryIds,
    };
  });
}
