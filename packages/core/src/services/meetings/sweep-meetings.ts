import { sql } from 'drizzle-orm';
import type { Db } from '../../db';
import type { Config } from '../../env';
import { MeetingTx } from './meeting-tx';

/**
 * The sweeper's part: finds every active meeting whose turn is overdue (one indexed query) and
 * applies its timeouts under the meeting's lock, one transaction per meeting so one slow meeting
 * does not hold the others. Returns the outbox ids produced.
 */
export async function sweepMeetings(
  db: Db,
  config: Pick<Config, 'MAX_DELIVERY_ATTEMPTS'>,
  limit = 100,
): Promise<{ meetings: number; deliveryIds: string[] }> {
  const { rows } = await db.execute<{ id: string; organization_id: string }>(sql`
    SELECT id, organization_id FROM meetings
    WHERE status = 'active' AND turn_ends_at <= now()
    ORDER BY turn_ends_at LIMIT ${limit}`);
  const deliveryIds: string[] = [];
  for (const row of rows) {
    deliveryIds.push(
      ...(await db.transaction(
        async (tx) => (await MeetingTx.open(tx, config, row.organization_id, row.id)).deliveryIds,
      )),
    );
  }
  return { meetings: rows.length, deliveryIds };
}
