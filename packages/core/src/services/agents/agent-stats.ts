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
    | 'turns_timed_out'
    | 'deliveries_delivered'
    | 'deliveries_pending'
    | 'deliveries_dead';
  type Row = Record<Figure, number> & {
    last_delivered_at: string | null;
    last_failure: { at: string; status: number | null; error: string | null } | null;
  };
  const { rows } = await ctx.db.execute<Row>(sql`
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
         AND meeting_id IN (SELECT meeting_id FROM meeting_participants WHERE agent_id = ${id}))::int AS turns_timed_out,
      (SELECT count(*) FROM deliveries WHERE agent_id = ${id} AND status = 'delivered')::int AS deliveries_delivered,
      (SELECT count(*) FROM deliveries WHERE agent_id = ${id} AND status IN ('queued', 'failed'))::int AS deliveries_pending,
      (SELECT count(*) FROM deliveries WHERE agent_id = ${id} AND status = 'dead')::int AS deliveries_dead,
      (SELECT max(delivered_at) FROM deliveries WHERE agent_id = ${id}) AS last_delivered_at,
      (SELECT jsonb_build_object('at', a.started_at, 'status', a.response_status, 'error', a.error)
         FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
         WHERE d.agent_id = ${id} AND (a.error IS NOT NULL OR a.response_status NOT BETWEEN 200 AND 299)
         ORDER BY a.started_at DESC LIMIT 1) AS last_failure
    FROM ${checkedCaller(caller, [id])}
    -- CASE puts the key check first: a revoked token is 401 whatever it asks.
    WHERE CASE WHEN caller.live THEN ${caller.kind === 'organization' || caller.agentId === id}
      OR am_fail('forbidden', 'An agent reads its own stats only.') END`);
  const row = rows[0] as Row;
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
    deliveries: {
      delivered: row.deliveries_delivered,
      pending: row.deliveries_pending,
      dead: row.deliveries_dead,
      lastDeliveredAt: row.last_delivered_at && new Date(row.last_delivered_at).toISOString(),
      lastFailure: row.last_failure && {
        ...row.last_failure,
        at: new Date(row.last_failure.at).toISOString(),
      },
    },
  };
}
