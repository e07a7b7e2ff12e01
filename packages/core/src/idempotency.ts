import { and, eq, type SQL, sql } from 'drizzle-orm';
import { sha256Hex } from './crypto';
import type { Db, Queryable, Tx } from './db';
import { fail } from './errors';
import { canonicalJson } from './json';
import { idempotencyKeys } from './schema';
import { isUniqueViolation } from './services/unique-violation';

export interface IdempotencyScope {
  principalId: string;
  /** The caller's `Idempotency-Key`; without one the operation just runs. */
  key: string | undefined;
  /** What identifies the request: route and body. */
  request: unknown;
}

/** A response, and whether it is the replay of the first one under its key. */
export interface StoredResponse<T> {
  body: T;
  replayed: boolean;
}

/** A key ready for a statement: its scope and the request's hash (null without a key). */
export interface StatementKey {
  principalId: string;
  key: string | null;
  requestHash: string | null;
}

/** The hash that tells a repeated request from another one under the same key. */
function requestHashOf(scope: IdempotencyScope): Promise<string> {
  if (scope.key && scope.key.length > 255) {
    throw fail.validation('Idempotency-Key must be at most 255 characters.');
  }
  return sha256Hex(canonicalJson(scope.request));
}

/** The stored response for a repeated key: replayed for the same request, 409 for another. */
function replayOf<T>(
  stored: { requestHash: string; responseBody: unknown } | undefined,
  requestHash: string,
  key: string,
): StoredResponse<T> {
  if (!stored || stored.requestHash !== requestHash) {
    throw fail.conflict('idempotency_conflict', 'This Idempotency-Key was used with a different request.');
  }
  // The key and its response are written in one transaction, and a twin waits on the key's row
  // until it commits: a key without a response is never seen.
  if (stored.responseBody === null) throw new Error(`idempotency key ${key} has no response`);
  return { body: stored.responseBody as T, replayed: true };
}

async function findStored(q: Queryable, principalId: string, key: string) {
  const [stored] = await q
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.principalId, principalId), eq(idempotencyKeys.key, key)));
  return stored;
}

export async function statementKey(scope: IdempotencyScope): Promise<StatementKey> {
  return {
    principalId: scope.principalId,
    key: scope.key ?? null,
    requestHash: scope.key ? await requestHashOf(scope) : null,
  };
}

/** The columns a keyed statement returns about the key: set when the key was used before. */
export type StoredKeyColumns = { request_hash: string | null; response_body: unknown };

// Without a key these reduce to constants, so a request without one plans none of it.

/** SQL: the stored key's row (`request_hash, response_body`), none without a key or before its first use. */
export const storedKeySql = (k: StatementKey) =>
  k.key === null
    ? sql`SELECT NULL::text AS request_hash, NULL::jsonb AS response_body WHERE false`
    : sql`SELECT request_hash, response_body FROM idempotency_keys
          WHERE principal_id = ${k.principalId} AND key = ${k.key}`;

/** SQL: true when the request carries no key, or one not used before (then the statement writes). */
export const freshKeySql = (k: StatementKey) =>
  k.key === null ? sql`true` : sql`NOT EXISTS (${storedKeySql(k)})`;

/**
 * SQL for a CTE: records the key with its response `body`, for each row of `from` (a FROM clause
 * with its WHERE, one row when the write happens); nothing without a key. Without ON CONFLICT: a
 * concurrent twin fails on the key and `runKeyed` replays the first response.
 */
export const recordKeySql = (k: StatementKey, body: SQL, from: SQL) =>
  k.key === null
    ? sql`SELECT 1`
    : sql`INSERT INTO idempotency_keys (principal_id, key, request_hash, response_body)
          SELECT ${k.principalId}, ${k.key}, ${k.requestHash}, ${body} ${from}`;

/**
 * Runs a statement (or batch) that records its own key (`freshKeySql`, `recordKeySql`) and returns
 * rows carrying the stored key's columns (`storedKeySql`): the first response's replay when the key
 * was used before, or by a twin that committed first; otherwise the statement's rows.
 */
export async function runKeyed<T, R extends StoredKeyColumns>(
  db: Db,
  k: StatementKey,
  run: () => Promise<R[]>,
): Promise<{ replay: StoredResponse<T> } | { rows: R[] }> {
  let rows: R[];
  try {
    rows = await run();
  } catch (error) {
    if (!k.key || !k.requestHash || !isUniqueViolation(error, 'idempotency_keys_pkey')) throw error;
    return { replay: replayOf(await findStored(db, k.principalId, k.key), k.requestHash, k.key) };
  }
  const [first] = rows;
  if (k.key && k.requestHash && first?.request_hash) {
    const stored = { requestHash: first.request_hash, responseBody: first.response_body };
    return { replay: replayOf(stored, k.requestHash, k.key) };
  }
  return { rows };
}

/**
 * Runs `operation` at most once per (principal, key) inside the caller's transaction. The key row is
 * inserted first, so a concurrent twin blocks on it and then reads the committed response.
 */
async function withIdempotency<T>(
  tx: Tx,
  scope: IdempotencyScope,
  operation: () => Promise<T>,
): Promise<StoredResponse<T>> {
  if (!scope.key) return { body: await operation(), replayed: false };
  const requestHash = await requestHashOf(scope);
  const [claimed] = await tx
    .insert(idempotencyKeys)
    .values({ principalId: scope.principalId, key: scope.key, requestHash })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (claimed) {
    const body = await operation();
    await tx
      .update(idempotencyKeys)
      .set({ responseBody: body })
      .where(and(eq(idempotencyKeys.principalId, scope.principalId), eq(idempotencyKeys.key, scope.key)));
    return { body, replayed: false };
  }
  return replayOf(await findStored(tx, scope.principalId, scope.key), requestHash, scope.key);
}

/**
 * A creating write in one interactive transaction, at most once per Idempotency-Key: `operation`
 * runs in the transaction and returns the response body plus the outbox ids to push after commit
 * (none when the response is a replay: those were pushed, or the sweeper has them).
 */
export async function idempotentWrite<T>(
  db: Db,
  scope: IdempotencyScope,
  operation: (tx: Tx) => Promise<{ body: T; deliveryIds: string[] }>,
): Promise<StoredResponse<T> & { deliveryIds: string[] }> {
  let deliveryIds: string[] = [];
  const response = await db.transaction((tx) =>
    withIdempotency(tx, scope, async () => {
      const result = await operation(tx);
      deliveryIds = result.deliveryIds;
      return result.body;
    }),
  );
  return { ...response, deliveryIds };
}

/** How long a stored response is replayed; older keys are forgotten by the sweeper. */
export const IDEMPOTENCY_RETENTION_HOURS = 24;

/** Deletes expired keys, a bounded batch per statement (the sweeper's pass, which comes back for more). */
export function forgetExpiredKeysStatement(batch = 1000): SQL {
  return sql`
    WITH expired AS (
      SELECT principal_id, key FROM idempotency_keys
      WHERE created_at < now() - make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS})
      LIMIT ${batch}
    )
    DELETE FROM idempotency_keys k USING expired
    WHERE k.principal_id = expired.principal_id AND k.key = expired.key`;
}
