import { sql } from 'drizzle-orm';
import { type Db, type Queryable, sharedPart, typedArray } from '../../db';
import { until } from '../../poll';
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

/** How long a caller waits on statements others write before it records its attempt itself. */
export const WAIT_LIMIT_MS = 10_000;
const MAX_ROWS = 100;

interface Waiting {
  row: AttemptRow;
  /** Set once a statement carries this row: whether the claim was ours, or 'alone' to go again. */
  recorded?: Promise<boolean | 'alone'>;
}

interface Queue {
  waiting: Waiting[];
  /** The statement in flight, if any; settles (never rejects) when it is done. */
  writing?: Promise<void>;
}

/** One queue per isolate and database. */
const queues = new WeakMap<object, Queue>();

const nothing = () => undefined;

const recordAlone = async (db: Db, row: AttemptRow) => (await recordAttemptRows(db, [row]))[0] === true;

/** Writes what is queued (up to MAX_ROWS) in one statement; the rows it took. */
function write(db: Db, queue: Queue): Waiting[] {
  const batch = queue.waiting.splice(0, MAX_ROWS);
  const statement = recordAttemptRows(
    db,
    batch.map((waiting) => waiting.row),
  );
  const done: Promise<void> = statement.then(nothing, nothing).then(() => {
    if (queue.writing === done) queue.writing = undefined;
  });
  queue.writing = done;
  batch.forEach((waiting, i) => {
    // A statement that fails records none of its rows: each then goes again alone, so one bad
    // row spoils only its own attempt.
    waiting.recorded = statement.then(
      (current) => current[i] === true,
      (error) => (batch.length === 1 ? Promise.reject(error) : ('alone' as const)),
    );
  });
  return batch;
}

/**
 * Records one attempt (no answer to apply) together with the attempts that other deliveries of this
 * isolate record at the same time: while a statement is in flight, attempts queue, and the first
 * caller to find the database free writes every queued row in one statement (a group commit). A
 * lone attempt goes at once, so a quiet isolate waits for nothing, and a busy one makes one round
 * trip for many attempts. Whatever a caller waits on, it waits at most `waitLimitMs` (another
 * invocation's statement may never answer if that invocation is cut off) and then goes alone.
 */
export async function recordTogether(db: Db, row: AttemptRow, waitLimitMs = WAIT_LIMIT_MS): Promise<boolean> {
  const key = sharedPart(db);
  let queue = queues.get(key);
  if (!queue) {
    queue = { waiting: [] };
    queues.set(key, queue);
  }
  const mine: Waiting = { row };
  queue.waiting.push(mine);
  const deadline = Date.now() + waitLimitMs;
  let wroteMine = false;
  while (!mine.recorded) {
    const writing = queue.writing;
    if (!writing) {
      wroteMine = write(db, queue).includes(mine);
      continue;
    }
    if ((await until(writing, deadline)) === 'timeout' && !mine.recorded) {
      queue.waiting.splice(queue.waiting.indexOf(mine), 1);
      if (queue.writing === writing) queue.writing = undefined;
      return recordAlone(db, row);
    }
  }
  // A statement this caller sent is awaited to its end (it lives and dies with this invocation);
  // one another invocation sent, at most until the limit: past it this row goes again alone (the
  // primary key of attempts refuses it if the other did land).
  const current = await (wroteMine ? mine.recorded : until(mine.recorded, deadline + waitLimitMs));
  return current === 'alone' || current === 'timeout' ? recordAlone(db, row) : current;
}
