import { sql } from 'drizzle-orm';
import { authorizedSql, requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { textArray } from '../../db';
import { fail } from '../../errors';
import {
  freshKeySql,
  recordKeySql,
  runKeyed,
  type StoredKeyColumns,
  type StoredResponse,
  statementKey,
  storedKeySql,
} from '../../idempotency';
import { newId } from '../../ids';
import { type MessageView, messageView } from '../../views';
import { leaseMs, targetsFromJson } from '../deliveries/claim-deliveries';
import type { Target } from '../deliveries/target';
import { newMessage } from './post-messages';

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
 * its endpoint if it has one. One statement does it all: the caller's key and the recipients
 * checked, messages and outbox rows written, the idempotency key and its response recorded (the
 * response is known before the statement runs: ids and times are made here). A fan-out no wider
 * than a Worker's connection limit is inserted already claimed, for this invocation to push after
 * responding; a wider one is due at once for the dispatcher.
 */
export async function sendMessage(
  ctx: Ctx,
  input: SendMessageInput,
  idempotencyKey?: string,
): Promise<SendMessageResult> {
  const sender = requireKind(ctx.principal, 'agent');
  const recipientIds = [...new Set(Array.isArray(input.to) ? input.to : [input.to])];
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
      WITH caller AS (
        SELECT ${authorizedSql(sender)} AS live
      ), recipient AS (
        SELECT t.ord, t.recipient_id, t.message_id, t.delivery_id, a.status, to_jsonb(a) AS agent,
               a.endpoint_url IS NOT NULL AND a.endpoint_disabled_at IS NULL AS pushable
        FROM unnest(${textArray(recipientIds)}, ${textArray(rows.map((row) => row.id))},
                    ${textArray(rows.map(() => newId('delivery')))})
             WITH ORDINALITY AS t(recipient_id, message_id, delivery_id, ord)
        LEFT JOIN agents a ON a.id = t.recipient_id AND a.organization_id = ${sender.organizationId}
      ), accepted AS (
        SELECT (SELECT live FROM caller) AND ${freshKeySql(k)}
               AND bool_and(coalesce(status = 'active', false)) AS ok
        FROM recipient
      ), idempotency AS (
        ${recordKeySql(k, sql`${JSON.stringify(body)}::jsonb`, sql`FROM accepted WHERE ok`)}
      ), inserted AS (
        INSERT INTO messages (id, organization_id, kind, sender_id, recipient_id, content, metadata, created_at)
        SELECT message_id, ${sender.organizationId}, 'user', ${sender.agentId}, recipient_id,
               ${JSON.stringify(input.content ?? null)}::jsonb, ${JSON.stringify(input.metadata ?? {})}::jsonb,
               ${createdAt.toISOString()}::timestamptz
        FROM recipient WHERE (SELECT ok FROM accepted)
      ), outbox AS (
        INSERT INTO deliveries (id, organization_id, agent_id, type, message_id, attempt_limit, attempts, next_attempt_at)
        SELECT delivery_id, ${sender.organizationId}, recipient_id, 'message', message_id,
               ${ctx.config.MAX_DELIVERY_ATTEMPTS}, ${claim ? 1 : 0},
               now() + make_interval(secs => ${claim ? leaseMs(ctx.config) / 1000 : 0})
        FROM recipient WHERE pushable AND (SELECT ok FROM accepted)
        RETURNING *
      )
      SELECT r.recipient_id, r.status, r.agent, to_jsonb(o) AS delivery, e.request_hash, e.response_body
      FROM recipient r
      CROSS JOIN caller
      LEFT JOIN outbox o ON o.id = r.delivery_id
      LEFT JOIN (${storedKeySql(k)}) e ON true
      ORDER BY r.ord`);
    return result;
  });
  if ('replay' in keyed) return { ...keyed.replay, claimed: [], deliveryIds: [] };
  const result = keyed.rows;
  for (const row of result) {
    if (!row.status) throw fail.notFound('agent', row.recipient_id);
    if (row.status !== 'active')
      throw fail.conflict('agent_inactive', `Agent ${row.recipient_id} is deactivated.`);
  }
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
