import { inArray, sql } from 'drizzle-orm';
import type { Queryable } from '../../db';
import { deliveries } from '../../schema';

export interface Claim {
  id: string;
  attempt: number;
  attemptLimit: number;
}

/** A delivery waiting for an attempt whose time has come (the partial index deliveries_due_idx). */
const isDue = sql`status IN ('queued', 'failed') AND next_attempt_at <= now()`;

/**
 * Claims due deliveries in one statement: `FOR UPDATE SKIP LOCKED` so concurrent claimers take
 * disjoint rows, and the claim bumps `attempts` and pushes `next_attempt_at` out by the lease, so a
 * claimer that dies leaves a row the sweeper takes again once the lease is over. Given `ids`, only
 * those are claimed (the fast path right after a write).
 */
export async function claimDeliveries(
  q: Queryable,
  options: { ids?: string[]; limit: number; leaseMs: number },
): Promise<Claim[]> {
  const onlyIds = options.ids ? sql`AND ${inArray(deliveries.id, options.ids)}` : sql``;
  const result = await q.execute<{ id: string; attempts: number; attempt_limit: number }>(sql`
    UPDATE deliveries AS d
    SET attempts = d.attempts + 1,
        next_attempt_at = now() + make_interval(secs => ${options.leaseMs / 1000})
    WHERE d.id IN (
      SELECT id FROM deliveries
      WHERE ${isDue} ${onlyIds}
      ORDER BY next_attempt_at
      LIMIT ${options.limit}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING d.id, d.attempts, d.attempt_limit`);
  return result.rows.map((row) => ({
    id: row.id,
    attempt: Number(row.attempts),
    attemptLimit: Number(row.attempt_limit),
  }));
}

/** How many deliveries are due now, counting up to `atMost` (an indexed look, no lock taken). */
export async function countDueDeliveries(q: Queryable, atMost: number): Promise<number> {
  const result = await q.execute<{ due: number }>(sql`
    SELECT count(*)::int AS due FROM (
      SELECT 1 FROM deliveries WHERE ${isDue} LIMIT ${atMost}
    ) AS due`);
  return Number(result.rows[0]?.due ?? 0);
}
