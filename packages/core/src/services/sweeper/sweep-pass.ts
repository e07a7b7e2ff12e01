import { sql } from 'drizzle-orm';
import pMap from 'p-map';
import type { Db } from '../../db';
import type { Config } from '../../env';
import { describeForLog } from '../../error-chain';
import { forgetExpiredKeysStatement, IDEMPOTENCY_RETENTION_HOURS } from '../../idempotency';
import { earliest } from '../../ticker';
import { EXPIRE_BATCH, expireWaitsStatement } from '../conversations/expire-waits';
import { countDueStatement } from '../deliveries/claim-deliveries';
import { changeMeeting } from '../meetings/with-meeting';

/** Overdue meetings advanced by one pass at most; a full batch means another pass at once. */
const MEETING_BATCH = 100;

/** Expired idempotency keys are forgotten in bulk: their deadline is the first expiry plus this. */
const KEY_SWEEP_SLACK_MINUTES = 10;

/** A meeting whose overdue turn could not be applied is tried again this much later. */
const MEETING_RETRY_MS = 1_000;

/**
 * The earliest pending deadline (epoch ms), or null: a turn's end, a sync wait's deadline, a
 * delivery's next attempt (a retry, or the end of a claim's lease) and, coarsely, the expiry of
 * idempotency keys. What the same pass handles now (overdue turns, due deliveries) is left out;
 * a sync wait it could not expire (a request holds it) stays in, as due now.
 */
const nextDeadlineStatement = sql`
  SELECT (extract(epoch FROM least(
    (SELECT min(turn_ends_at) FROM meetings WHERE status = 'active' AND turn_ends_at > now()),
    (SELECT min(wait_deadline) FROM sessions WHERE status = 'waiting'),
    (SELECT min(next_attempt_at) FROM deliveries
      WHERE status IN ('queued', 'failed') AND next_attempt_at > now()),
    (SELECT min(created_at) FROM idempotency_keys)
      + make_interval(hours => ${IDEMPOTENCY_RETENTION_HOURS}, mins => ${KEY_SWEEP_SLACK_MINUTES})
  )) * 1000)::float8 AS wake_at`;

export interface SweepPass {
  /** Outbox ids of the turns applied (events, autoRun turns), for the dispatcher. */
  deliveryIds: string[];
  /** Deliveries due now, counted up to the pass's `dueDeliveries` bound, for the dispatcher. */
  dueDeliveries: number;
  /** The earliest deadline left after this pass (epoch ms), null if none: the ticker's next alarm. */
  wakeAt: number | null;
  /** A batch of timeouts was full: more are due right now. */
  more: boolean;
}

/**
 * One pass of the sweeper, a batch of one round trip: expires sync waits, forgets old idempotency
 * keys, finds overdue meetings and counts due deliveries, and reads the next deadline. Then the
 * overdue meetings' turns are applied, in deadline order, each in its own load and batch
 * (`changeMeeting`), so one broken meeting holds up none of the others.
 */
export async function sweepPass(
  db: Db,
  config: Pick<Config, 'MAX_DELIVERY_ATTEMPTS' | 'DISPATCH_CONCURRENCY'>,
  options: { dueDeliveries: number },
): Promise<SweepPass> {
  const [expired, , overdue, due, next] = await db.batch([
    db.execute(expireWaitsStatement()),
    db.execute(forgetExpiredKeysStatement()),
    db.execute<{ id: string; organization_id: string }>(sql`
      SELECT id, organization_id FROM meetings
      WHERE status = 'active' AND turn_ends_at <= now()
      ORDER BY turn_ends_at LIMIT ${MEETING_BATCH}`),
    db.execute<{ due: number }>(countDueStatement(options.dueDeliveries)),
    db.execute<{ wake_at: number | null }>(nextDeadlineStatement),
  ]);
  const deliveryIds: string[] = [];
  let wakeAt = next.rows[0]?.wake_at == null ? null : Number(next.rows[0].wake_at);
  await pMap(
    overdue.rows,
    async (row) => {
      try {
        const target = { organizationId: row.organization_id, meetingId: row.id };
        const caughtUp = await changeMeeting(db, config, target, async () => ({}), { optimistic: true });
        deliveryIds.push(...caughtUp.deliveryIds);
        wakeAt = earliest(wakeAt, caughtUp.wakeAt);
      } catch (error) {
        wakeAt = earliest(wakeAt, Date.now() + MEETING_RETRY_MS);
        console.error(`sweep: meeting ${row.id} could not be advanced:`, describeForLog(error));
      }
    },
    { concurrency: config.DISPATCH_CONCURRENCY },
  );
  const dueDeliveries = Number(due.rows[0]?.due ?? 0);
  return {
    deliveryIds,
    dueDeliveries,
    wakeAt,
    more: expired.rows.length >= EXPIRE_BATCH || overdue.rows.length >= MEETING_BATCH,
  };
}
