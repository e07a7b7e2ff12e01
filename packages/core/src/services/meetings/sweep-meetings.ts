import { sql } from 'drizzle-orm';
import type { Db } from '../../db';
import type { Config } from '../../env';
import { describeForLog } from '../../error-chain';
import { changeMeeting } from './with-meeting';

/**
 * The sweeper's part: finds active meetings whose turn is overdue (one indexed query) and applies
 * their timeouts, one load and one batch per meeting (`changeMeeting`), so one slow or broken
 * meeting holds up none of the others. `more` says a full batch was found: go again at once.
 */
export async function sweepMeetings(
  db: Db,
  config: Pick<Config, 'MAX_DELIVERY_ATTEMPTS'>,
  limit = 100,
): Promise<{ meetings: number; failed: number; more: boolean; deliveryIds: string[] }> {
  const { rows } = await db.execute<{ id: string; organization_id: string }>(sql`
    SELECT id, organization_id FROM meetings
    WHERE status = 'active' AND turn_ends_at <= now()
    ORDER BY turn_ends_at LIMIT ${limit}`);
  const deliveryIds: string[] = [];
  let failed = 0;
  for (const row of rows) {
    try {
      const target = { organizationId: row.organization_id, meetingId: row.id };
      const caughtUp = await changeMeeting(db, config, target, async () => ({}), { optimistic: true });
      deliveryIds.push(...caughtUp.deliveryIds);
    } catch (error) {
      failed += 1;
      console.error(`sweep: meeting ${row.id} could not be advanced:`, describeForLog(error));
    }
  }
  return { meetings: rows.length, failed, more: rows.length === limit, deliveryIds };
}
