import { sql } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { textArray } from '../../db';
import { runKeyed, type StoredKeyColumns, type StoredResponse, statementKey } from '../../idempotency';
import { newId } from '../../ids';
import { type MessageView, messageView } from '../../views';
import { resolveAgentRef, resolveAgentRefs } from '../agents/resolve-agent-refs';
import { leaseMs, targetsFromJson } from '../deliveries/claim-deliveries';
import type { Target } from '../deliveries/target';
import { newMessage, requireActiveRecipient } from './post-messages';

export interface SendMessageInput {
  to: string | string[];
  content: unknown;
  metadata?: Record<string, unknown> | undefined;
}

export type SendMessageBody = { message: MessageView } | { messages: MessageView[] };

export interface SendMessageResult extends StoredResponse<SendMessageBody> {
  /** Outbox rows inserted already claimed: this invocation pushes them itself, after responding. */
  claimed: Target[];
  /** Outbox rows left due (a large fan-out): handed to the dispatcher. */
  deliveryIds: string[];
}

type SendRow = StoredKeyColumns & {
  recipient_id: string;
  status: string | null;
  agent: unknown;
  delivery: unknown;
};

/**
 * One-way message: one message per recipient, each kept in the recipient's inbox and pushed to
 * its endpoint if it has one. One statement (`am_send_message`, migration 0005) does it all: the
 * caller's key and the recipients checked, messages and outbox rows written, the idempotency key
 * and its response recorded (the response is known before the statement runs: ids and times are
 * made here). A fan-out no wider
 * than a Worker's connection limit is inserted already claimed, for this invocation to push after
 * responding; a wider one is due at once for the dispatcher.
 */
export async function sendMessage(
  ctx: Ctx,
  request: SendMessageInput,
  idempotencyKey?: string,
): Promise<SendMessageResult> {
  const sender = requireKind(ctx.principal, 'agent');
  const to = Array.isArray(request.to)
    ? await resolveAgentRefs(ctx, request.to)
    : await resolveAgentRef(ctx, request.to);
  const input = { ...request, to };
  const recipientIds = [...new Set(Array.isArray(to) ? to : [to])];
  const k = await statementKey({
    principalId: sender.agentId,
    key: idempotencyKey,
    request: ['POST /v1/messages', input],
  });
  const createdAt = new Date();
  const rows = recipientIds.map((recipientId) =>
    newMessage({
      organizationId: sender.organizationId,
      senderId: sender.agentId,
      recipientId,
      content: input.content,
      metadata: input.metadata ?? {},
      createdAt,
    }),
  );
  const views = rows.map((row) => messageView(row, null));
  const body: SendMessageBody = Array.isArray(input.to)
    ? { messages: views }
    : { message: views[0] as MessageView };
  const claim = recipientIds.length <= ctx.config.DISPATCH_CONCURRENCY;

  const keyed = await runKeyed<SendMessageBody, SendRow>(ctx.db, k, async () => {
    const { rows: result } = await ctx.db.execute<SendRow>(sql`
      SELECT recipient_id, status, agent, delivery, stored_hash AS request_hash, stored_response AS response_body
      FROM am_send_message(
        ${sender.verified ? null : sender.keyHash}, ${sender.organizationId}, ${sender.agentId},
        ${textArray(recipientIds)}, ${textArray(rows.map((row) => row.id))},
        ${textArray(rows.map(() => newId('delivery')))},
        ${JSON.stringify(input.content ?? null)}::jsonb, ${JSON.stringify(input.metadata ?? {})}::jsonb,
        ${createdAt.toISOString()}::timestamptz, ${ctx.config.MAX_DELIVERY_ATTEMPTS}, ${claim},
        ${leaseMs(ctx.config) / 1000}, ${k.key}, ${k.requestHash}, ${JSON.stringify(body)}::jsonb)`);
    return result;
  });
  if ('replay' in keyed) return { ...keyed.replay, claimed: [], deliveryIds: [] };
  const result = keyed.rows;
  for (const row of result) requireActiveRecipient(row.recipient_id, row.status);
  const messageOf = new Map(rows.map((row) => [row.recipientId, row]));
  const outbox = targetsFromJson(result.filter((row) => row.delivery)).map((target) => ({
    ...target,
    message: messageOf.get(target.agent.id) ?? null,
  }));
  return {
    body,
    replayed: false,
    claimed: claim ? outbox : [],
    deliveryIds: claim ? [] : outbox.map((target) => target.delivery.id),
  };
}
