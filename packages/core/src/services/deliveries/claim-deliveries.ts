import { sql } from 'drizzle-orm';
import { type Queryable, rowFromJson, textArray } from '../../db';
import { agents, deliveries, meetingEvents, messages } from '../../schema';
import type { Target } from './target';

/** A delivery waiting for an attempt whose time has come (the partial index deliveries_due_idx). */
const isDue = sql`status IN ('queued', 'failed') AND next_attempt_at <= now()`;

/** The lease of a claim: an attempt's timeout and some slack; past it the row is due again. */
export const leaseMs = (config: { DELIVERY_TIMEOUT_MS: number }) => config.DELIVERY_TIMEOUT_MS + 5_000;

/** Targets from rows of `to_jsonb(delivery) AS delivery, to_jsonb(agent) AS agent, ...`. */
export function targetsFromJson(
  rows: { delivery: unknown; agent: unknown; message?: unknown; event?: unknown }[],
): Target[] {
  const json = (value: unknown) => value as Record<string, unknown>;
  return rows.map((row) => ({
    delivery: rowFromJson(deliveries, json(row.delivery)),
    agent: rowFromJson(agents, json(row.agent)),
    message: row.message ? rowFromJson(messages, json(row.message)) : null,
    event: row.event ? rowFromJson(meetingEvents, json(row.event)) : null,
  }));
}

/**
 * Claims due deliveries and loads what pushing them needs, in one statement: `FOR UPDATE SKIP
 * LOCKED` so concurrent claimers take disjoint rows; the claim bumps `attempts` and pushes
 * `next_attempt_at` out by the lease, so a claimer that dies leaves a row the sweeper takes again
 * once the lease is over. Given `ids`, only those are claimed (a hand-off right after a write).
 */
export async function claimDeliveries(
  q: Queryable,
  options: { ids?: string[]; limit: number; leaseMs: number },
): Promise<Target[]> {
  const onlyIds = options.ids ? sql`AND id = ANY(${textArray(options.ids)})` : sql``;
  const { rows } = await q.execute<{
    delivery: unknown;
    agent: unknown;
    message: unknown;
    event: unknown;
  }>(sql`
    WITH claimed AS (
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
      RETURNING d.*
    )
    SELECT to_jsonb(c) AS delivery, to_jsonb(a) AS agent, to_jsonb(m) - 'search' AS message, to_jsonb(e) AS event
    FROM claimed c
    JOIN agents a ON a.id = c.agent_id
    LEFT JOIN messages m ON m.id = c.message_id
    LEFT JOIN meeting_events e ON e.meeting_id = c.meeting_id AND e.seq = c.event_seq`);
  return targetsFromJson(rows);
}

/** How many deliveries are due now, counting up to `atMost` (an indexed look, no lock taken). */
export const countDueStatement = (atMost: number) => sql`
  SELECT count(*)::int AS due FROM (SELECT 1 FROM deliveries WHERE ${isDue} LIMIT ${atMost}) AS due`;
