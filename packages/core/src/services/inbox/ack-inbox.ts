import { sql } from 'drizzle-orm';
import { authorizedSql, requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { textArray } from '../../db';
import { resolveAgentRef } from '../agents/resolve-agent-refs';

export interface AckInput {
  messageIds?: string[] | undefined;
  /** Every unacknowledged message from this agent (an id or `ext:` ref). */
  from?: string | undefined;
}

/**
 * Acknowledges the caller's own unacknowledged messages among `messageIds`, or from `from` (both:
 * those of the ids that are from `from`): they leave its inbox. Ids that are not the caller's,
 * unknown or already acknowledged are ignored and never touched. One statement, which also checks
 * the caller's key.
 */
export async function ackInbox(ctx: Ctx, input: AckInput) {
  const agent = requireKind(ctx.principal, 'agent');
  const ids = input.messageIds ? sql`AND id = ANY(${textArray(input.messageIds)})` : sql``;
  const from = input.from ? sql`AND sender_id = ${await resolveAgentRef(ctx, input.from)}` : sql``;
  const { rows } = await ctx.db.execute<{ acknowledged: string[] }>(sql`
    WITH caller AS (
      SELECT ${authorizedSql(agent)} AS live
    ), acknowledged AS (
      UPDATE messages SET acknowledged_at = now()
      WHERE (SELECT live FROM caller) AND recipient_id = ${agent.agentId} AND acknowledged_at IS NULL ${ids} ${from}
      RETURNING id
    )
    SELECT coalesce((SELECT array_agg(id ORDER BY id) FROM acknowledged), '{}') AS acknowledged
    FROM caller`);
  const acknowledged = rows[0]?.acknowledged ?? [];
  return { acknowledged, count: acknowledged.length };
}
