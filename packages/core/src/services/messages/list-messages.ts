import { type SQL, sql } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { rowFromJson } from '../../db';
import { fail } from '../../errors';
import { messages } from '../../schema';
import { type DeliveryStatus, messageView } from '../../views';
import { resolveAgentRef } from '../agents/resolve-agent-refs';
import { checkedCaller, subjectAgent } from './checked-caller';

export interface MessageFilters {
  /** The organization key's choice of agent (an agent token is always itself). */
  agentId?: string | undefined;
  direction?: 'sent' | 'received' | undefined;
  /** The other party. */
  with?: string | undefined;
  kind?: (typeof messages.$inferSelect)['kind'] | undefined;
  sessionId?: string | undefined;
  meetingId?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  /** Matched by containment: every key given has that value. */
  metadata?: Record<string, unknown> | undefined;
  acknowledged?: boolean | undefined;
  /** The delivery's status: a message to an agent without an endpoint is queued until acknowledged, then delivered. */
  status?: DeliveryStatus | undefined;
}

/**
 * What a listing or count reads from: a one-row FROM item that checks the caller's key (401), then
 * that the agents the filters name are of its organization (404 `agent_not_found`, as if absent),
 * and the WHERE clause: the caller's organization always; an agent token's own messages (sent,
 * received or both); the organization key's for `agentId`, or all of them. Agent refs may be
 * `ext:` refs.
 */
async function queryOf(ctx: Ctx, filters: MessageFilters): Promise<{ checked: SQL; where: SQL }> {
  const caller = requireKind(ctx.principal, 'agent', 'organization');
  const me = await subjectAgent(ctx, caller, filters.agentId, 'messages');
  const other = filters.with ? await resolveAgentRef(ctx, filters.with) : null;
  if (!me && filters.direction) throw fail.validation('direction needs agentId with the organization key.');
  const conditions: SQL[] = [sql`organization_id = ${caller.organizationId}`];
  const sent = (from: string, to: string | null) =>
    to ? sql`(sender_id = ${from} AND recipient_id = ${to})` : sql`sender_id = ${from}`;
  const received = (to: string, from: string | null) =>
    from ? sql`(recipient_id = ${to} AND sender_id = ${from})` : sql`recipient_id = ${to}`;
  if (me && filters.direction === 'sent') conditions.push(sent(me, other));
  else if (me && filters.direction === 'received') conditions.push(received(me, other));
  else if (me) conditions.push(sql`(${sent(me, other)} OR ${received(me, other)})`);
  else if (other) conditions.push(sql`(sender_id = ${other} OR recipient_id = ${other})`);
  if (filters.kind) conditions.push(sql`kind = ${filters.kind}`);
  if (filters.sessionId) conditions.push(sql`session_id = ${filters.sessionId}`);
  if (filters.meetingId) conditions.push(sql`meeting_id = ${filters.meetingId}`);
  if (filters.since) conditions.push(sql`created_at >= ${filters.since}::timestamptz`);
  if (filters.until) conditions.push(sql`created_at < ${filters.until}::timestamptz`);
  if (filters.metadata) conditions.push(sql`metadata @> ${JSON.stringify(filters.metadata)}::jsonb`);
  if (filters.status) {
    const pushed = sql`EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = messages.id AND d.status = ${filters.status})`;
    const held = sql`NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = messages.id)`;
    if (filters.status === 'queued')
      conditions.push(sql`(${pushed} OR (${held} AND acknowledged_at IS NULL))`);
    else if (filters.status === 'delivered')
      conditions.push(sql`(${pushed} OR (${held} AND acknowledged_at IS NOT NULL))`);
    else conditions.push(pushed);
  }
  if (filters.acknowledged !== undefined) {
    conditions.push(filters.acknowledged ? sql`acknowledged_at IS NOT NULL` : sql`acknowledged_at IS NULL`);
  }
  const named = [caller.kind === 'organization' ? me : null, other].filter((id) => id !== null);
  const checked = checkedCaller(caller, named);
  return { checked, where: sql.join(conditions, sql` AND `) };
}

/**
 * Messages matching the filters, newest first, a full page at a time (`nextCursor` is the `cursor`
 * of the next, older page; null on the last). One statement: the key, the page, delivery statuses.
 */
export async function listMessages(
  ctx: Ctx,
  input: MessageFilters & { cursor?: string | undefined; limit: number },
) {
  const { checked, where } = await queryOf(ctx, input);
  const before = input.cursor ? sql`AND id < ${input.cursor}` : sql``;
  const { rows } = await ctx.db.execute<{
    message: Record<string, unknown> | null;
    status: DeliveryStatus | null;
  }>(sql`
    SELECT to_jsonb(m) - 'search' AS message, d.status
    FROM ${checked}
    LEFT JOIN LATERAL (
      SELECT * FROM messages WHERE ${where} ${before} ORDER BY id DESC LIMIT ${input.limit + 1}
    ) m ON true
    LEFT JOIN deliveries d ON d.message_id = m.id
    ORDER BY m.id DESC`);
  const found = rows.flatMap(({ message, status }) =>
    message ? [messageView(rowFromJson(messages, message), status)] : [],
  );
  const page = found.slice(0, input.limit);
  return { messages: page, nextCursor: found.length > input.limit ? (page.at(-1)?.id ?? null) : null };
}

/** How many messages match the filters (one statement, the key checked in it). */
export async function countMessages(ctx: Ctx, filters: MessageFilters) {
  const { checked, where } = await queryOf(ctx, filters);
  const { rows } = await ctx.db.execute<{ count: number }>(sql`
    SELECT (SELECT count(*)::int FROM messages WHERE ${where}) AS count FROM ${checked}`);
  return { count: Number(rows[0]?.count ?? 0) };
}
