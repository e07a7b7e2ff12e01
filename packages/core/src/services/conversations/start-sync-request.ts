import { type SQL, sql } from 'drizzle-orm';
import { authorizedSql, requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { locksTaken } from '../../db';
import { fail } from '../../errors';
import {
  freshKeySql,
  recordKeySql,
  runKeyed,
  type StoredKeyColumns,
  statementKey,
  storedKeySql,
} from '../../idempotency';
import { newId } from '../../ids';
import type { messages } from '../../schema';
import { resolveAgentRef } from '../agents/resolve-agent-refs';
import { leaseMs, targetsFromJson } from '../deliveries/claim-deliveries';
import type { Target } from '../deliveries/target';
import { newMessage } from '../messages/post-messages';
import { expireWaitsStatement } from './expire-waits';
import { pairLock, waiterLock } from './lock-keys';
import type { AsyncMessageInput } from './send-async';

export interface SyncRequestInput extends AsyncMessageInput {
  timeoutMs: number;
}

/** What a started request is, as stored for a replay of the same Idempotency-Key. */
export interface StartedRequest {
  sessionId: string;
  requestId: string;
  deadline: string;
}

type StartRow = StoredKeyColumns & {
  session_id: string | null;
  agent: unknown;
  delivery: unknown;
};

/**
 * Records a sync request and puts its session in the waiting state, in one batch of three
 * statements (one round trip, one transaction) under the sender's and the pair's locks: the
 * caller's key checked, the locks taken and the recipient checked (404, 409 agent_inactive); then
 * overdue waits of the sender and the pair expired; then, in a snapshot that sees those, a sender
 * waits for one reply at a time (409 agent_busy) and a session holds one pending request (409
 * session_busy), checked by the statement that writes. Each refusal is raised in the database and
 * rolls the batch back. The request's outbox row is inserted already claimed: the caller pushes it
 * itself, then waits (`awaitReply`).
 */
export async function startSyncRequest(
  ctx: Ctx,
  asked: SyncRequestInput,
  idempotencyKey?: string,
): Promise<
  StartedRequest & { replayed: boolean; claimed: Target[]; request?: typeof messages.$inferSelect }
> {
  const sender = requireKind(ctx.principal, 'agent');
  const input = { ...asked, to: await resolveAgentRef(ctx, asked.to) };
  if (input.to === sender.agentId) throw fail.validation('An agent cannot send a sync request to itself.');
  if (input.timeoutMs > ctx.config.SYNC_MAX_TIMEOUT_MS) {
    throw fail.validation(`timeoutMs may be at most ${ctx.config.SYNC_MAX_TIMEOUT_MS}.`, [
      { path: 'timeoutMs', message: `must be <= ${ctx.config.SYNC_MAX_TIMEOUT_MS}` },
    ]);
  }
  const k = await statementKey({
    principalId: sender.agentId,
    key: idempotencyKey,
    request: ['POST /v1/conversations/sync', input],
  });
  const [agentA, agentB] =
    sender.agentId < input.to ? [sender.agentId, input.to] : [input.to, sender.agentId];
  const pair = sql`agent_a = ${agentA} AND agent_b = ${agentB}`;
  const createdAt = new Date();
  const request = newMessage({
    organizationId: sender.organizationId,
    senderId: sender.agentId,
    recipientId: input.to,
    sessionId: '',
    replyDeadline: new Date(createdAt.getTime() + input.timeoutMs),
    content: input.content,
    metadata: input.metadata ?? {},
    createdAt,
  });
  const deadline = (request.replyDeadline as Date).toISOString();
  // With an Idempotency-Key already used, nothing is checked or written: the first answer replays.
  const fresh = freshKeySql(k);
  const guard = (problem: string, detail: SQL, from: SQL) =>
    sql`SELECT am_fail(${problem}, ${detail}) FROM ${from} AND ${fresh}`;

  const keyed = await runKeyed<StartedRequest, StartRow>(ctx.db, k, async () => {
    const results = await ctx.db.batch([
      // Before the locks' snapshot matters: the key, the locks, then the recipient (the locks do
      // not cover agents, so reading them in this statement's snapshot changes nothing).
      ctx.db.execute(sql`
        SELECT ${authorizedSql(sender)},
          ${locksTaken([pairLock(agentA, agentB), waiterLock(sender.agentId)].sort())},
          (${guard(
            'agent_not_found',
            sql`${`No agent ${input.to} here.`}`,
            sql`(SELECT 1) AS one WHERE NOT EXISTS (SELECT 1 FROM agents WHERE id = ${input.to} AND organization_id = ${sender.organizationId})`,
          )}),
          (${guard(
            'agent_inactive',
            sql`${`Agent ${input.to} is deactivated.`}`,
            sql`agents WHERE id = ${input.to} AND organization_id = ${sender.organizationId} AND status <> 'active'`,
          )})`),
      // Under the locks, each in a snapshot taken after them: overdue waits end first, so the
      // busy checks of the next statement see the sessions they freed.
      ctx.db.execute(expireWaitsStatement({ waiterId: sender.agentId, pair: [agentA, agentB] })),
      ctx.db.execute<StartRow>(sql`
        WITH busy AS (
          ${guard(
            'agent_busy',
            sql`'You are already waiting for a reply in session ' || id || '.'`,
            sql`sessions WHERE waiter_id = ${sender.agentId} AND status = 'waiting'`,
          )}
          UNION ALL
          ${guard(
            'session_busy',
            sql`'Session ' || id || ' already has a pending request.'`,
            sql`sessions WHERE ${pair} AND status = 'waiting'`,
          )}
        ), open AS (
          -- Every write below reads this, so the busy checks run before anything is written.
          SELECT id FROM sessions WHERE ${pair} AND status <> 'ended' AND NOT EXISTS (SELECT 1 FROM busy)
        ), created AS (
          INSERT INTO sessions (id, organization_id, agent_a, agent_b, status, pending_request_id, waiter_id, wait_deadline)
          SELECT ${newId('session')}, ${sender.organizationId}, ${agentA}, ${agentB},
                 'waiting', ${request.id}, ${sender.agentId}, ${deadline}::timestamptz
          WHERE ${fresh} AND NOT EXISTS (SELECT 1 FROM open)
          RETURNING id
        ), waiting AS (
          UPDATE sessions SET status = 'waiting', pending_request_id = ${request.id},
                 waiter_id = ${sender.agentId}, wait_deadline = ${deadline}::timestamptz
          WHERE id IN (SELECT id FROM open) AND ${fresh}
          RETURNING id
        ), session AS (
          SELECT id FROM created UNION ALL SELECT id FROM waiting
        ), idempotency AS (
          ${recordKeySql(
            k,
            sql`jsonb_build_object('sessionId', s.id, 'requestId', ${request.id}::text, 'deadline', ${deadline}::text)`,
            sql`FROM session s WHERE true`,
          )}
        ), inserted AS (
          INSERT INTO messages (id, organization_id, kind, sender_id, recipient_id, session_id, reply_deadline,
                                content, metadata, created_at)
          SELECT ${request.id}, ${sender.organizationId}, 'user', ${sender.agentId}, ${input.to}, s.id,
                 ${deadline}::timestamptz, ${JSON.stringify(request.content)}::jsonb,
                 ${JSON.stringify(request.metadata)}::jsonb, ${createdAt.toISOString()}::timestamptz
          FROM session s
        ), outbox AS (
          INSERT INTO deliveries (id, organization_id, agent_id, type, message_id, attempt_limit, attempts, next_attempt_at)
          SELECT ${newId('delivery')}, ${sender.organizationId}, a.id, 'sync_request', ${request.id},
                 ${ctx.config.MAX_DELIVERY_ATTEMPTS}, 1, now() + make_interval(secs => ${leaseMs(ctx.config) / 1000})
          FROM agents a, session s
          WHERE a.id = ${input.to} AND a.endpoint_url IS NOT NULL AND a.endpoint_disabled_at IS NULL
          RETURNING *
        )
        SELECT (SELECT id FROM session) AS session_id,
               (SELECT to_jsonb(a) FROM agents a WHERE a.id = ${input.to}) AS agent,
               (SELECT to_jsonb(o) FROM outbox o) AS delivery,
               e.request_hash, e.response_body
        FROM (SELECT 1) AS one LEFT JOIN (${storedKeySql(k)}) e ON true`),
    ]);
    return results[2].rows;
  });
  if ('replay' in keyed) return { ...keyed.replay.body, replayed: true, claimed: [] };
  const [row] = keyed.rows;
  if (!row?.session_id) throw new Error('sync request statement wrote no session');
  const started = { ...request, sessionId: row.session_id };
  const claimed = row.delivery
    ? targetsFromJson([row]).map((target) => ({ ...target, message: started }))
    : [];
  return {
    sessionId: row.session_id,
    requestId: request.id,
    deadline,
    replayed: false,
    claimed,
    request: started,
  };
}
