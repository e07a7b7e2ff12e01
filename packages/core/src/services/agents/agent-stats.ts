import { sql } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { checkedCaller } from '../messages/checked-caller';
import { resolveAgentRef } from './resolve-agent-refs';

/**
 * What an agent has done: sessions, messages, partners, meetings and turns. The organization key
 * reads any of its agents'; an agent reads its own. One statement; every figure is its own
 * subquery over its own rows, so none is inflated by a join.
 */
export async function agentStats(ctx: Ctx, agentRef: string) {
  const caller = requireKind(ctx.principal, 'organization', 'agent');
  const id = await resolveAgentRef(ctx, agentRef);
  type Figure =
    | 'sessions_total'
    | 'sessions_open'
    | 'messages_sent'
    | 'messages_received'
    | 'unacknowledged'
    | 'partners'
    | 'meetings_hosted'
    | 'meetings_attended'
    | 'turns_taken'
    | 'turns_timed_out';
  const { rows } = await ctx.db.execute<Record<Figure, number>>(sql`
    SELECT
      (SELECT count(*) FROM sessions WHERE agent_a = ${id} OR agent_b = ${id})::int AS sessions_total,
      (SELECT count(*) FROM sessions WHERE (agent_a = ${id} OR agent_b = ${id}) AND status <> 'ended')::int AS sessions_open,
      (SELECT count(*) FROM messages WHERE sender_id = ${id})::int AS messages_sent,
      (SELECT count(*) FROM messages WHERE recipient_id = ${id})::int AS messages_received,
      (SELECT count(*) FROM messages WHERE recipient_id = ${id} AND acknowledged_at IS NULL)::int AS unacknowledged,
      (SELECT count(*) FROM (
         SELECT recipient_id FROM messages WHERE sender_id = ${id} AND recipient_id IS NOT NULL
         UNION SELECT sender_id FROM messages WHERE recipient_id = ${id} AND sender_id IS NOT NULL) AS p)::int AS partners,
      (SELECT count(*) FROM meetings WHERE host_id = ${id})::int AS meetings_hosted,
      (SELECT count(*) FROM meeting_participants WHERE agent_id = ${id} AND join_order IS NOT NULL)::int AS meetings_attended,
      (SELECT count(*) FROM messages WHERE sender_id = ${id} AND meeting_id IS NOT NULL AND kind = 'user')::int AS turns_taken,
      (SELECT count(*) FROM meeting_events WHERE type = 'turn_timed_out' AND data->>'speakerId' = ${id}
         AND meeting_id IN (SELECT meeting_id FROM meeting_participants WHERE agent_id = ${id}))::int AS turns_timed_out
    FROM ${checkedCaller(caller, [id])}
    -- CASE puts the key check first: a revoked token is 401 whatever it asks.
    WHERE CASE WHEN caller.live THEN ${caller.kind === 'organization' || caller.agentId === id}
      OR am_fail('forbidden', 'An agent reads its own stats only.') END`);
  const row = rows[0] as Record<Figure, number>;
  return {
    agentId: id,
    sessions: { total: row.sessions_total, open: row.sessions_open },
    messages: {
      sent: row.messages_sent,
      received: row.messages_received,
      unacknowledged: row.unacknowledged,
    },
    partners: row.partners,
    meetings: { hosted: row.meetings_hosted, attended: row.meetings_attended },
    turns: { taken: row.turns_taken, timedOut: row.turns_timed_out },
  };
}
