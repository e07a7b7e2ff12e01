import { sql } from 'drizzle-orm';
import { authorizedSql, requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { textArray } from '../../db';

/**
 * Acknowledges the caller's own messages among `messageIds`: they leave its inbox. Ids that are
 * not the caller's, unknown or already acknowledged are ignored and never touched. One statement,
 * which also checks the caller's key.
 */
export async function ackInbox(ctx: Ctx, messageIds: string[]) {
  const agent = requireKind(ctx.principal, 'agent');
  const { rows } = await ctx.db.execute<{ acknowledged: string[] }>(sql`
    WITH caller AS (
      SELECT ${authorizedSql(agent)} AS live
    ), acknowledged AS (
      UPDATE messages SET acknowledged_at = now()
      WHERE (SELECT live FROM caller) AND id = ANY(${textArray(messageIds)})
        AND recipient_id = ${agent.agentId} AND acknowledged_at IS NULL
      RETURNING id
    )
    SELECT coalesce((SELECT array_agg(id ORDER BY id) FROM acknowledged), '{}') AS acknowledged
    FROM caller`);
  return { acknowledged: rows[0]?.acknowledged ?? [] };
}
