import { and, eq, inArray } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { fail } from '../../errors';
import { withIdempotency } from '../../idempotency';
import { newId } from '../../ids';
import { jsonValue } from '../../json';
import { agents, messages } from '../../schema';
import { messageView } from '../../views';
import { enqueueDeliveries } from '../deliveries/enqueue-delivery';

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
  let deliveryIds: string[] = [];

  const response = await ctx.db.transaction((tx) =>
    withIdempotency(
      tx,
      { principalId: sender.agentId, key: idempotencyKey, request: ['POST /v1/messages', input] },
      async () => {
        const recipients = await tx
          .select()
          .from(agents)
          .where(and(eq(agents.organizationId, sender.organizationId), inArray(agents.id, recipientIds)));
        const byId = new Map(recipients.map((agent) => [agent.id, agent]));
        for (const id of recipientIds) {
          const agent = byId.get(id);
          if (!agent) throw fail.notFound('agent', id);
          if (agent.status !== 'active') throw fail.conflict('agent_inactive', `Agent ${id} is deactivated.`);
        }

        const rows = await tx
          .insert(messages)
          .values(
            recipientIds.map((recipientId) => ({
              id: newId('message'),
              organizationId: sender.organizationId,
              kind: 'user' as const,
              senderId: sender.agentId,
              recipientId,
              content: jsonValue(input.content),
              metadata: input.metadata ?? {},
            })),
          )
          .returning();
        deliveryIds = await enqueueDeliveries(
          tx,
          rows.map((row) => ({
            agent: byId.get(row.recipientId as string) as (typeof recipients)[number],
            subject: { type: 'message' as const, messageId: row.id },
          })),
          ctx.config.MAX_DELIVERY_ATTEMPTS,
        );
        const views = rows.map((row) => messageView(row, null));
        const [first] = views;
        if (!first) throw new Error('insert returned no row');
        return { status: 202, body: Array.isArray(input.to) ? { messages: views } : { message: first } };
      },
    ),
  );
  return { ...response, deliveryIds };
}
