import { sql } from 'drizzle-orm';
import { authorizedSql, requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { locksTaken } from '../../db';
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
import { resolveAgentRef } from '../agents/resolve-agent-refs';
import { leaseMs, targetsFromJson } from '../deliveries/claim-deliveries';
import type { Target } from '../deliveries/target';
import { newMessage, requireActiveRecipient } from '../messages/post-messages';
import { pairLock } from './lock-keys';

export interface AsyncMessageInput {
  to: string;
  content: unknown;
  metadata?: Record<string, unknown> | undefined;
}

export interface SendAsyncBody {
  message: MessageView;
  sessionId: string;
}

type AsyncRow = StoredKeyColumns & {
  status: string | null;
  session_id: string | null;
  agent: unknown;
  delivery: unknown;
};

/**
 * A message in the pair's session: kept in the recipient's inbox, pushed if it has an endpoint.
 * One batch (one round trip, one transaction): the caller's key checked and the pair's lock taken
 * in one statement, then one statement that checks the recipient, opens the session on first use, writes the
 * message and its outbox row (already claimed: this invocation pushes it) and records the
 * idempotency key with its response (the session id filled in by the statement).
 */
export async function sendAsync(
  ctx: Ctx,
  request: AsyncMessageInput,
  idempotencyKey?: string,
): Promise<StoredResponse<SendAsyncBody> & { claimed: Target[]; deliveryIds: string[] }> {
  const sender = requireKind(ctx.principal, 'agent');
  const input = { ...request, to: await resolveAgentRef(ctx, request.to) };
  if (input.to === sender.agentId) throw fail.validation('An agent cannot converse with itself.');
  const k = await statementKey({
    principalId: sender.agentId,
    key: idempotencyKey,
    request: ['POST /v1/conversations/async', input],
  });
  const [agentA, agentB] =
    sender.agentId < input.to ? [sender.agentId, input.to] : [input.to, sender.agentId];
  const row = newMessage({
    organizationId: sender.organizationId,
    senderId: sender.agentId,
    recipientId: input.to,
    sessionId: '',
    content: input.content,
    metadata: input.metadata ?? {},
  });
  // The session id is the statement's to fill in, in the stored response too.
  const template: SendAsyncBody = { message: messageView(row, null), sessionId: '' };

  const keyed = await runKeyed<SendAsyncBody, AsyncRow>(ctx.db, k, async () => {
    const [, { rows }] = await ctx.db.batch([
      ctx.db.execute(sql`SELECT ${authorizedSql(sender)}, ${locksTaken([pairLock(agentA, agentB)])}`),
      ctx.db.execute<AsyncRow>(sql`
        WITH recipient AS (
          SELECT status, to_jsonb(a) AS agent, endpoint_url IS NOT NULL AND endpoint_disabled_at IS NULL AS pushable
          FROM agents a WHERE id = ${input.to} AND organization_id = ${sender.organizationId}
        ), accepted AS (
          SELECT ${freshKeySql(k)} AND EXISTS (SELECT 1 FROM recipient WHERE status = 'active') AS ok
        ), open AS (
          SELECT id FROM sessions
          WHERE agent_a = ${agentA} AND agent_b = ${agentB} AND status <> 'ended'
        ), created AS (
          INSERT INTO sessions (id, organization_id, agent_a, agent_b)
          SELECT ${newId('session')}, ${sender.organizationId}, ${agentA}, ${agentB}
          WHERE (SELECT ok FROM accepted) AND NOT EXISTS (SELECT 1 FROM open)
          RETURNING id
        ), session AS (
          SELECT id FROM open UNION ALL SELECT id FROM created
        ), idempotency AS (
          ${recordKeySql(
            k,
            sql`jsonb_set(jsonb_set(${JSON.stringify(template)}::jsonb, '{sessionId}', to_jsonb(s.id)),
                          '{message,sessionId}', to_jsonb(s.id))`,
            sql`FROM session s WHERE (SELECT ok FROM accepted)`,
          )}
        ), inserted AS (
          INSERT INTO messages (id, organization_id, kind, sender_id, recipient_id, session_id, content, metadata, created_at)
          SELECT ${row.id}, ${sender.organizationId}, 'user', ${sender.agentId}, ${input.to}, s.id,
                 ${JSON.stringify(row.content)}::jsonb, ${JSON.stringify(row.metadata)}::jsonb,
                 ${row.createdAt.toISOString()}::timestamptz
          FROM session s WHERE (SELECT ok FROM accepted)
        ), outbox AS (
          INSERT INTO deliveries (id, organization_id, agent_id, type, message_id, attempt_limit, attempts, next_attempt_at)
          SELECT ${newId('delivery')}, ${sender.organizationId}, ${input.to}, 'message', ${row.id},
                 ${ctx.config.MAX_DELIVERY_ATTEMPTS}, 1, now() + make_interval(secs => ${leaseMs(ctx.config) / 1000})
          FROM recipient WHERE pushable AND (SELECT ok FROM accepted)
          RETURNING *
        )
        SELECT r.status, (SELECT id FROM session) AS session_id, r.agent, (SELECT to_jsonb(o) FROM outbox o) AS delivery,
               e.request_hash, e.response_body
        FROM (SELECT 1) AS one
        LEFT JOIN recipient r ON true
        LEFT JOIN (${storedKeySql(k)}) e ON true`),
    ]);
    return rows;
  });
  if ('replay' in keyed) return { ...keyed.replay, claimed: [], deliveryIds: [] };
  const [found] = keyed.rows;
  if (!found) throw new Error('the async send statement returned no row');
  requireActiveRecipient(input.to, found.status);
  const sessionId = found.session_id as string;
  const message = { ...row, sessionId };
  const claimed = found.delivery ? targetsFromJson([found]).map((target) => ({ ...target, message })) : [];
  return {
    body: { message: messageView(message, null), sessionId },
    replayed: false,
    claimed,
    deliveryIds: [],
  };
}
