import { sql } from 'drizzle-orm';
import type { Queryable } from '../../db';
import { newId } from '../../ids';
import { jsonValue } from '../../json';
import { messages } from '../../schema';

/**
 * Ends the sync waits whose deadline has passed, set-based: the session becomes active again and a
 * `timeout` message records it in the session's history (sent by the system on behalf of the agent
 * that did not answer, addressed to the waiter, already acknowledged since the waiter got a 504).
 * The sweeper runs it over everything; requests run it for one session or one waiter first.
 */
export async function expireWaits(q: Queryable, scope: { sessionId?: string; waiterId?: string } = {}) {
  const forSession = scope.sessionId ? sql`AND id = ${scope.sessionId}` : sql``;
  const forWaiter = scope.waiterId ? sql`AND waiter_id = ${scope.waiterId}` : sql``;
  // FOR UPDATE waits for a concurrent reply and then re-checks the row, so a reply that commits
  // first wins and the wait is not expired under it.
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
      WHERE status = 'waiting' AND wait_deadline <= now() ${forSession} ${forWaiter}
      FOR UPDATE
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
