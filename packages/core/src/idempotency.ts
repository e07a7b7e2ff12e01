import { and, eq, sql } from 'drizzle-orm';
import { sha256Hex } from './crypto';
import type { Db, Queryable, Tx } from './db';
import { fail } from './errors';
import { canonicalJson } from './json';
import { idempotencyKeys } from './schema';

export interface IdempotencyScope {
  principalId: string;
  /** The caller's `Idempotency-Key`; without one the operation just runs. */
  key: string | undefined;
  /** What identifies the request: route and body. */
  request: unknown;
}

export interface StoredResponse<T> {
  status: number;
  body: T;
  replayed: boolean;
}

/**
 * Runs `operation` at most once per (principal, key) inside the caller's transaction. The key row is
 * inserted first, so a concurrent twin blocks on it and then reads the committed response.
 */
export async function withIdempotency<T>(
  tx: Tx,
  scope: IdempotencyScope,
  operation: () => Promise<{ status: number; body: T }>,
): Promise<StoredResponse<T>> {
  if (!scope.key) return { ...(await operation()), replayed: false };
  if (scope.key.length > 255) throw fail.validation('Idempotency-Key must be at most 255 characters.');
  const requestHash = await sha256Hex(canonicalJson(scope.request));
  const [claimed] = await tx
    .insert(idempotencyKeys)
    .values({ principalId: scope.principalId, key: scope.key, requestHash })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (claimed) {
    const response = await operation();
    await tx
      .update(idempotencyKeys)
      .set({ responseStatus: response.status, responseBody: response.body })
      .where(and(eq(idempotencyKeys.principalId, scope.principalId), eq(idempotencyKeys.key, scope.key)));
    return { ...response, replayed: false };
  }
  const [stored] = await tx
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.principalId, scope.principalId), eq(idempotencyKeys.key, scope.key)));
  if (!stored || stored.requestHash !== requestHash) {
    throw fail.conflict('idempotency_conflict', 'This Idempotency-Key was used with a different request.');
  }
  // The key and its response are written in one transaction, and a twin waits on the key's row
  // until it commits: a key without a response is never seen.
  if (stored.responseStatus === null) throw new Error(`idempotency key ${scope.key} has no response`);
  return { status: stored.responseStatus, body: stored.responseBody as T, replayed: true };
}

/**
 * A creating write in one transaction, at most once per Idempotency-Key: `operation` runs in the
 * transaction and returns the response plus the outbox ids to hand off after commit (none when
 * the response is a replay: those were handed off, or the sweeper has them).
 */
export async function idempotentWrite<T>(
  db: Db,
  scope: IdempotencyScope,
  operation: (tx: Tx) => Promise<{ status: number; body: T; deliveryIds: string[] }>,
): Promise<StoredResponse<T> & { deliveryIds: string[] }> {
  let deliveryIds: string[] = [];
  const response = await db.transaction((tx) =>
    withIdempotency(tx, scope, async () => {
      const result = await operation(tx);
      deliveryIds = result.deliveryIds;
      return { status: result.status, body: result.body };
    }),
  );
  return { ...response, deliveryIds };
}

/** How long a stored response is replayed; older keys are forgotten by the sweeper. */
export const IDEMPOTENCY_RETENTION_HOURS = 24;

/** Deletes expired keys, a bounded batch per call. Returns how many went. */
export async function forgetExpiredIdempotencyKeys(q: Queryable, batch = 1000): Promise<number> {
  const { rows } = await q.execute<{ n: number }>(sql`
    WITH expired AS (
      SELECT principal_id, key FROM idempotency_keys
      WHERE created_at < now() - make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS})
      LIMIT ${batch}
    )
    DELETE FROM idempotency_keys k USING expired
    WHERE k.principal_id = expired.principal_id AND k.key = expired.key
    RETURNING 1 AS n`);
  return rows.length;
}
