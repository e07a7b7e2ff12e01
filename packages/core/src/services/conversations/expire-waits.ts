import { type SQL, sql } from 'drizzle-orm';
import { type Queryable, textArray } from '../../db';
import { newId } from '../../ids';

export interface WaitScope {
  sessionId?: string;
  waiterId?: string;
  /** The waiting request itself, at its own deadline: its clock decided, not the database's. */
  requestId?: string;
  /** Sessions of this ordered pair of agents. */
  pair?: [string, string];
  /** Sessions this agent is in, on either side (a read of its sessions). */
  involving?: string;
  /** Sessions of this organization (its key's read of them). */
  organizationId?: string;
}

/** Waits expired by one sweep statement at most; the sweeper comes back for more. */
export const EXPIRE_BATCH = 100;

/**
 * Ends sync waits in one statement: the session becomes active again and a `timeout` message
 * records it in the session's history (sent by the system on behalf of the agent that did not
 * answer, addressed to the waiter, already acknowledged since the waiter got a 504). Without a
 * scope, the sweeper's form: every wait past its deadline, EXPIRE_BATCH at a time. With one,
 * the waits past their deadline of that session, waiter or pair (any of those given), or the
 * one wait of `requestId` whatever its deadline. Usable as a statement of a batch.
 */
export function expireWaitsStatement(scope: WaitScope = {}): SQL {
  const scoped =
    scope.sessionId ||
    scope.waiterId ||
    scope.pair ||
    scope.requestId ||
    scope.involving ||
    scope.organizationId;
  const within: SQL[] = [
    ...(scope.sessionId ? [sql`id = ${scope.sessionId}`] : []),
    ...(scope.waiterId ? [sql`waiter_id = ${scope.waiterId}`] : []),
    ...(scope.pair ? [sql`(agent_a = ${scope.pair[0]} AND agent_b = ${scope.pair[1]})`] : []),
    ...(scope.involving ? [sql`(agent_a = ${scope.involving} OR agent_b = ${scope.involving})`] : []),
    ...(scope.organizationId ? [sql`organization_id = ${scope.organizationId}`] : []),
  ];
  const due = scope.requestId ? sql`pending_request_id = ${scope.requestId}` : sql`wait_deadline <= now()`;
  // An agent waits in one session at most, but many may wait on it.
  const limit = scoped && !scope.involving && !scope.organizationId ? 2 : EXPIRE_BATCH;
  // A request waits for the row lock of a concurrent reply and then re-checks the row, so a reply
  // that commits first wins and the wait is not expired under it. The sweeper skips rows a request
  // holds (it comes back next pass) instead of queueing behind it in an arbitrary lock order.
  const lock = scoped ? sql`FOR UPDATE` : sql`FOR UPDATE SKIP LOCKED`;
  const messageIds = Array.from({ length: limit }, () => newId('message'));
  return sql`
    WITH due AS (
      SELECT id, organization_id, agent_a, agent_b, pending_request_id, waiter_id FROM sessions
      WHERE status = 'waiting' AND ${due} ${within.length > 0 ? sql`AND (${sql.join(within, sql` OR `)})` : sql``}
      ORDER BY wait_deadline LIMIT ${limit}
      ${lock}
    ), numbered AS (
      SELECT due.*, row_number() OVER (ORDER BY id) AS n FROM due
    ), expired AS (
      UPDATE sessions AS s
      SET status = 'active', pending_request_id = NULL, waiter_id = NULL, wait_deadline = NULL
      FROM numbered WHERE s.id = numbered.id
    ), recorded AS (
      INSERT INTO messages (id, organization_id, kind, sender_id, recipient_id, session_id, content, metadata, acknowledged_at)
      SELECT (${textArray(messageIds)})[n], organization_id, 'timeout', NULL, waiter_id, id,
             jsonb_build_object('event', 'sync_timeout', 'requestId', pending_request_id),
             jsonb_build_object('onBehalfOf', CASE WHEN waiter_id = agent_a THEN agent_b ELSE agent_a END,
                                'requestId', pending_request_id),
             now()
      FROM numbered
    )
    SELECT id AS session_id, pending_request_id AS request_id FROM numbered`;
}

/** Runs `expireWaitsStatement`; returns the waits it ended. */
export async function expireWaits(q: Queryable, scope: WaitScope = {}) {
  const { rows } = await q.execute<{ session_id: string; request_id: string }>(expireWaitsStatement(scope));
  return rows.map((row) => ({ sessionId: row.session_id, requestId: row.request_id }));
}
