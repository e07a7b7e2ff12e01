import { sql } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { type Db, textArray } from '../../db';
import { groupCommit } from '../../group-commit';
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

/** The arguments of `am_send_message` (migration 0005) for one send. */
interface SendCall {
  keyHash: string | null;
  organizationId: string;
  senderId: string;
  recipientIds: string[];
  messageIds: string[];
  deliveryIds: string[];
  content: unknown;
  metadata: Record<string, unknown>;
  createdAt: string;
  attemptLimit: number;
  claim: boolean;
  leaseSecs: number;
  key: string | null;
  requestHash: string | null;
  response: SendMessageBody;
}

/** A call, and its JSON once a statement with others needs it. */
interface QueuedCall {
  call: SendCall;
  json?: string;
}

const jsonOf = (queued: QueuedCall) => {
  queued.json ??= JSON.stringify(queued.call);
  return queued.json;
};

/** A text[] argument from the call's JSON list `field`, in its order. */
const listOf = (field: keyof SendCall) =>
  sql.raw(
    `ARRAY(SELECT e FROM jsonb_array_elements_text(c.call->'${field}') WITH ORDINALITY AS x(e, i) ORDER BY i)`,
  );

/**
 * Sends in one statement, `am_send_message` once per call; each call's rows. All or none. A lone
 * call passes its arguments as they are; several go as one JSON list, unpacked in the statement.
 */
async function sendRows(db: Db, queued: QueuedCall[]): Promise<SendRow[][]> {
  const [only] = queued;
  if (queued.length === 1 && only) {
    const { call } = only;
    const { rows } = await db.execute<SendRow>(sql`
      SELECT recipient_id, status, agent, delivery, stored_hash AS request_hash, stored_response AS response_body
      FROM am_send_message(
        ${call.keyHash}, ${call.organizationId}, ${call.senderId}, ${textArray(call.recipientIds)},
        ${textArray(call.messageIds)}, ${textArray(call.deliveryIds)}, ${JSON.stringify(call.content)}::jsonb,
        ${JSON.stringify(call.metadata)}::jsonb, ${call.createdAt}::timestamptz, ${call.attemptLimit},
        ${call.claim}, ${call.leaseSecs}, ${call.key}, ${call.requestHash}, ${JSON.stringify(call.response)}::jsonb)`);
    return [rows];
  }
  const { rows } = await db.execute<SendRow & { n: number | string }>(sql`
    SELECT c.n, s.recipient_id, s.status, s.agent, s.delivery,
           s.stored_hash AS request_hash, s.stored_response AS response_body
    FROM jsonb_array_elements(${`[${queued.map(jsonOf).join(',')}]`}::jsonb) WITH ORDINALITY AS c(call, n)
    CROSS JOIN LATERAL am_send_message(
      c.call->>'keyHash', c.call->>'organizationId', c.call->>'senderId',
      ${listOf('recipientIds')}, ${listOf('messageIds')}, ${listOf('deliveryIds')},
      c.call->'content', c.call->'metadata', (c.call->>'createdAt')::timestamptz,
      (c.call->>'attemptLimit')::int, (c.call->>'claim')::boolean, (c.call->>'leaseSecs')::float8,
      c.call->>'key', c.call->>'requestHash', c.call->'response') AS s`);
  const byCall = queued.map((): SendRow[] => []);
  for (const { n, ...row } of rows) byCall[Number(n) - 1]?.push(row);
  return byCall;
}

/**
 * Sends that come together in an isolate go in one statement (see `groupCommit`), up to about a
 * megabyte of calls (a call carries its content twice, as content and in the stored response).
 */
const sendTogether = groupCommit(sendRows, {
  sizeOf: (queued) => jsonOf(queued).length,
  maxSize: 1 << 20,
});

/**
 * One-way message: one message per recipient, each kept in the recipient's inbox and pushed to
 * its endpoint if it has one. One statement (`am_send_message`, migration 0005) does it all: the
 * caller's key and the recipients checked, messages and outbox rows written, the idempotency key
 * and its response recorded (the response is known before the statement runs: ids and times are
 * made here); sends that come together in an isolate share it. A fan-out no wider than a
 * Worker's connection limit is inserted already claimed, for this invocation to push after
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

  const call: SendCall = {
    keyHash: sender.verified ? null : sender.keyHash,
    organizationId: sender.organizationId,
    senderId: sender.agentId,
    recipientIds,
    messageIds: rows.map((row) => row.id),
    deliveryIds: rows.map(() => newId('delivery')),
    content: input.content ?? null,
    metadata: input.metadata ?? {},
    createdAt: createdAt.toISOString(),
    attemptLimit: ctx.config.MAX_DELIVERY_ATTEMPTS,
    claim,
    leaseSecs: leaseMs(ctx.config) / 1000,
    key: k.key,
    requestHash: k.requestHash,
    response: body,
  };
  const keyed = await runKeyed<SendMessageBody, SendRow>(ctx.db, k, () => sendTogether(ctx.db, { call }));
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
