import { sql } from 'drizzle-orm';
import { type Queryable, typedArray } from '../../db';
import { groupCommit } from '../../group-commit';
import type { AttemptStatus } from './target';

/** The arguments of `am_record_attempt` (migration 0005) for one attempt. */
export interface AttemptRow {
  deliveryId: string;
  attempt: number;
  status: AttemptStatus;
  error: string | null;
  ok: boolean;
  retrySecs: number;
  startedAt: string;
  durationMs: number;
  responseStatus: number | null;
  agentId: string;
  gone: string | null;
}

/**
 * Records attempts in one statement, `am_record_attempt` once per row; for each, whether the claim
 * was still ours. One transaction: if any row fails, none is recorded. Rows go in the order of
 * their messages, so two such statements lock the messages they acknowledge in the same order and
 * cannot deadlock.
 */
export async function recordAttemptRows(q: Queryable, rows: AttemptRow[]): Promise<boolean[]> {
  const column = <K extends keyof AttemptRow>(key: K, type: string) =>
    typedArray(
      rows.map((row) => row[key]),
      type,
    );
  const { rows: recorded } = await q.execute<{ n: number | string; current: boolean }>(sql`
    SELECT a.n, am_record_attempt(
      a.delivery, a.attempt, a.status::delivery_status, a.error, a.ok, a.retry_secs, a.started_at,
      a.duration_ms, a.response_status, a.agent, a.gone) AS current
    FROM (
      SELECT a.* FROM unnest(
        ${column('deliveryId', 'text')}, ${column('attempt', 'int')}, ${column('status', 'text')},
        ${column('error', 'text')}, ${column('ok', 'boolean')}, ${column('retrySecs', 'float8')},
        ${column('startedAt', 'timestamptz')}, ${column('durationMs', 'int')},
        ${column('responseStatus', 'int')}, ${column('agentId', 'text')}, ${column('gone', 'text')}
      ) WITH ORDINALITY AS a(delivery, attempt, status, error, ok, retry_secs, started_at, duration_ms,
        response_status, agent, gone, n)
      LEFT JOIN deliveries d ON d.id = a.delivery
      ORDER BY d.message_id, a.delivery
    ) AS a`);
  const current = new Array<boolean>(rows.length).fill(false);
  for (const row of recorded) current[Number(row.n) - 1] = row.current === true;
  return current;
}

/**
 * Records one attempt (no answer to apply) together with the attempts that other deliveries of
 * this isolate record at the same time (a group commit, see `groupCommit`); whether the claim
 * was still ours.
 */
export const recordTogether = groupCommit(recordAttemptRows);
