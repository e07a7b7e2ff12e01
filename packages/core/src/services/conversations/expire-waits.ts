import { sql } from 'drizzle-orm';
import type { Queryable } from '../../db';
import { newId } from '../../ids';
import { jsonValue } from '../../json';
import { messages } from '../../schema';

/**
 * Ends sync waits, set-based: the session becomes active again and a `timeout` message records it
 * in the session's history (sent by the system on behalf of the agent that did not answer,
 * addressed to the waiter, already acknowledged since the waiter got a 504). The sweeper runs it
 * over every wait past its deadline; requests run it for one session or one waiter first; the
 * waiting request itself, at its own deadline, ends its own wait by `requestId` (its clock decided).
 */
export async function expireWaits(
  q: Queryable,
  scope: { sessionId?: string; waiterId?: string; requestId?: string } = {},
) {
  const conditions = [
    scope.requestId ? sql`pending_request_id = ${scope.requestId}` : sql`wait_deadline <= now()`,
    ...(scope.sessionId ? [sql`id = ${scope.sessionId}`] : []),
    ...(scope.waiterId ? [sql`waiter_id = ${scope.waiterId}`] : []),
  ];
  // A request waits for the row lock of a concurrent reply and then re-checks the row, so a reply
  // that commits first wins and the wait is not expired under it. The sweeper skips rows a request
  // holds (it comes back next tick) instead of queueing behind it in an arbitrary lock order.
  const lock = Object.keys(scope).length > 0 ? sql`FOR UPDATE` : sql`FOR UPDATE SKIP LOCKED`;
  const { rows } = await q.execute<{
    id: string;
    organization_id: string;
    agent_a: string;
    agent_b: string;
    request_id: string;
    waiter_id: string;
  }>(sql`
    WITH due AS (
      SELECT id, pending_request_id, waiter_id FROM sessions
      WHERE status = 'waiting' AND ${sql.join(conditions, sql` AND `)}
      ${lock}
    )
    UPDATE sessions AS s
    SET status = 'active', pending_request_id = NULL, waiter_id = NULL, wait_deadline = NULL
    FROM due WHERE s.id = due.id
    RETURNING s.id, s.organization_id, s.agent_a, s.agent_b, due.pending_request_id AS request_id, due.waiter_id`);
  if (rows.length === 0) return [];
  await q.insert(messages).values(
    rows.map((row) => ({
      id: newId('message'),
      organizationId: row.organization_id,
      kind: 'timeout' as const,
      senderId: null,
      recipientId: row.waiter_id,
      sessionId: row.id,
      content: jsonValue({ event: 'sync_timeout', requestId: row.request_id }),
      metadata: {
        onBehalfOf: row.waiter_id === row.agent_a ? row.agent_b : row.agent_a,
        requestId: row.request_id,
      },
      acknowledgedAt: new Date(),
    })),
  );
  return rows.map((row) => ({ sessionId: row.id, requestId: row.request_id }));
}
