import { type Db, sharedPart } from './db';
import { databaseError } from './error-chain';
import { fail } from './errors';
import { until } from './poll';

/** How long a caller waits on statements others sent before it sends its own row alone. */
const WAIT_LIMIT_MS = 10_000;

interface Waiting<Row, Result> {
  row: Row;
  /** Set once a statement carries this row: its result, or 'alone' to go again by itself. */
  result?: Promise<Result | 'alone'>;
}

interface Queue<Row, Result> {
  waiting: Waiting<Row, Result>[];
  /** The statement in flight, if any; settles (never rejects) when it is done. */
  writing?: Promise<void>;
}

const nothing = () => undefined;

/**
 * PostgreSQL refused the statement (a constraint, a raised refusal, a deadlock) and rolled it
 * back, so each of its rows may go again alone. A lost connection is no such answer: the
 * statement may have landed.
 */
const refusedByDatabase = (error: unknown) => {
  const refusal = databaseError(error);
  return refusal !== undefined && !/^(08|57)/.test(refusal.code);
};

/**
 * A group commit for one kind of statement that writes many rows as well as one (`writeRows`,
 * a result per row, in order; all or none). Rows whose callers come while a statement is in
 * flight in this isolate queue, and the first caller to find the database free writes every
 * queued row in one statement: a quiet isolate waits for nothing, and a busy one makes one round
 * trip for many rows. A statement PostgreSQL refuses writes none of its rows: each goes again
 * alone, so one bad row spoils only its own call; a statement lost on the way (the connection)
 * fails every call in it, as it would have failed each alone. A caller waits on statements of
 * other invocations (which may be cut off) at most `waitLimitMs`: one its row is not in yet, then
 * it writes alone; one carrying its row, then it fails with 503 `service_unavailable` (the row may
 * have landed). A statement it sent itself it awaits to the end: it lives and dies with it.
 */
export function groupCommit<Row, Result>(
  writeRows: (db: Db, rows: Row[]) => Promise<Result[]>,
  {
    maxRows = 100,
    sizeOf,
    maxSize = Number.POSITIVE_INFINITY,
  }: {
    maxRows?: number;
    /** With `maxSize`: a statement carries rows up to that total size (always at least one). */
    sizeOf?: (row: Row) => number;
    maxSize?: number;
  } = {},
) {
  const queues = new WeakMap<object, Queue<Row, Result>>();

  const writeAlone = async (db: Db, row: Row) => (await writeRows(db, [row]))[0] as Result;

  /** How many of the queued rows the next statement takes. */
  function batchLength(waiting: Waiting<Row, Result>[]): number {
    const limit = Math.min(maxRows, waiting.length);
    if (!sizeOf || limit === 1) return limit;
    let size = 0;
    for (let i = 0; i < limit; i++) {
      size += sizeOf((waiting[i] as Waiting<Row, Result>).row);
      if (size > maxSize) return Math.max(1, i);
    }
    return limit;
  }

  /** Writes what is queued (as much as one statement takes) in one statement; the rows it took. */
  function write(db: Db, queue: Queue<Row, Result>): Waiting<Row, Result>[] {
    const batch = queue.waiting.splice(0, batchLength(queue.waiting));
    const statement = writeRows(
      db,
      batch.map((waiting) => waiting.row),
    );
    const done: Promise<void> = statement.then(nothing, nothing).then(() => {
      if (queue.writing === done) queue.writing = undefined;
    });
    queue.writing = done;
    batch.forEach((waiting, i) => {
      waiting.result = statement.then(
        (results) => results[i] as Result,
        (error) =>
          batch.length > 1 && refusedByDatabase(error) ? ('alone' as const) : Promise.reject(error),
      );
    });
    return batch;
  }

  return async function writeTogether(db: Db, row: Row, waitLimitMs = WAIT_LIMIT_MS): Promise<Result> {
    const key = sharedPart(db);
    let queue = queues.get(key);
    if (!queue) {
      queue = { waiting: [] };
      queues.set(key, queue);
    }
    const mine: Waiting<Row, Result> = { row };
    queue.waiting.push(mine);
    const deadline = Date.now() + waitLimitMs;
    let wroteMine = false;
    while (!mine.result) {
      const writing = queue.writing;
      if (!writing) {
        wroteMine = write(db, queue).includes(mine);
        continue;
      }
      if ((await until(writing, deadline)) === 'timeout' && !mine.result) {
        queue.waiting.splice(queue.waiting.indexOf(mine), 1);
        if (queue.writing === writing) queue.writing = undefined;
        return writeAlone(db, row);
      }
    }
    const result = await (wroteMine ? mine.result : until(mine.result, deadline + waitLimitMs));
    if (result === 'timeout') {
      // Written by another invocation that never said how it went: it may have landed.
      throw fail.unavailable('The database did not answer in time; the write may have landed.');
    }
    return result === 'alone' ? writeAlone(db, row) : result;
  };
}
