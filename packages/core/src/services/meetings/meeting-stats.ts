import { sql } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { fail } from '../../errors';
import type { meetingParticipants, meetings } from '../../schema';
import { checkedCaller } from '../messages/checked-caller';
import { catchUp } from './read-meeting';

interface ParticipantFigures {
  agentId: string;
  status: (typeof meetingParticipants.$inferSelect)['status'];
  joinOrder: number | null;
  /** Turns in which it spoke. */
  turnsTaken: number;
  turnsTimedOut: number;
  /** Its speeches, the host's opening speech included. */
  messages: number;
  /** From the start of its turn to its speech, over the turns it spoke in; null if none. */
  meanMsToSpeak: number | null;
  maxMsToSpeak: number | null;
}

/**
 * A meeting's figures, exact after applying its overdue turns: how long it ran, its turns,
 * speeches and timeouts, and per participant the turns it took and let time out and how long it
 * took to speak. Visible to the organization key and to agents ever invited. Two round trips:
 * the overdue check (applied if any: what the clock would do, whoever asks), then one statement
 * with the key check and every figure.
 */
export async function meetingStats(ctx: Ctx, meetingId: string) {
  const caller = requireKind(ctx.principal, 'agent', 'organization');
  const caughtUp = await catchUp(ctx.db, ctx.config, caller.organizationId, meetingId);
  const visible =
    caller.kind === 'organization'
      ? sql`true`
      : sql`EXISTS (SELECT 1 FROM meeting_participants WHERE meeting_id = m.id AND agent_id = ${caller.agentId})`;
  const { rows } = await ctx.db.execute<{
    status: (typeof meetings.$inferSelect)['status'] | null;
    started_at: string | null;
    ended_at: string | null;
    duration_ms: number | null;
    turns: number;
    messages: number;
    timeouts: number;
    participants: ParticipantFigures[];
  }>(sql`
    WITH events AS (SELECT type, data, created_at FROM meeting_events WHERE meeting_id = ${meetingId}),
    turns AS (
      SELECT (data->>'turnNumber')::int AS turn,
             coalesce((data->>'startedAt')::timestamptz, created_at) AS started_at
      FROM events WHERE type = 'turn_started'),
    speeches AS (
      SELECT msg.sender_id AS speaker, (e.data->>'turnNumber')::int AS turn,
             extract(epoch FROM msg.created_at - t.started_at) * 1000 AS ms
      FROM events e
      JOIN messages msg ON msg.id = e.data->>'messageId'
      LEFT JOIN turns t ON t.turn = (e.data->>'turnNumber')::int
      WHERE e.type = 'message_posted' AND e.data->>'kind' = 'user'),
    timeouts AS (SELECT data->>'speakerId' AS speaker FROM events WHERE type = 'turn_timed_out')
    SELECT m.status, m.started_at, m.ended_at,
      (extract(epoch FROM coalesce(m.ended_at, now()) - m.started_at) * 1000)::bigint AS duration_ms,
      m.turn_number AS turns,
      (SELECT count(*) FROM speeches)::int AS messages,
      (SELECT count(*) FROM timeouts)::int AS timeouts,
      (SELECT coalesce(jsonb_agg(jsonb_build_object(
         'agentId', p.agent_id, 'status', p.status, 'joinOrder', p.join_order,
         'turnsTaken', (SELECT count(*) FROM speeches s WHERE s.speaker = p.agent_id AND s.turn > 0),
         'turnsTimedOut', (SELECT count(*) FROM timeouts t WHERE t.speaker = p.agent_id),
         'messages', (SELECT count(*) FROM speeches s WHERE s.speaker = p.agent_id),
         'meanMsToSpeak', (SELECT round(avg(ms)) FROM speeches s WHERE s.speaker = p.agent_id AND s.turn > 0),
         'maxMsToSpeak', (SELECT round(max(ms)) FROM speeches s WHERE s.speaker = p.agent_id AND s.turn > 0)
       ) ORDER BY p.join_order NULLS LAST, p.agent_id), '[]'::jsonb)
       FROM meeting_participants p WHERE p.meeting_id = m.id) AS participants
    FROM ${checkedCaller(caller, [])}
    LEFT JOIN meetings m ON m.id = ${meetingId} AND m.organization_id = ${caller.organizationId} AND ${visible}`);
  const [row] = rows;
  if (!row?.status) throw fail.notFound('meeting', meetingId);
  return {
    stats: {
      meetingId,
      status: row.status,
      startedAt: row.started_at && new Date(row.started_at).toISOString(),
      endedAt: row.ended_at && new Date(row.ended_at).toISOString(),
      durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
      turns: row.turns,
      messages: row.messages,
      timeouts: row.timeouts,
      participants: row.participants,
    },
    deliveryIds: caughtUp?.deliveryIds ?? [],
    wakeAt: caughtUp?.wakeAt ?? null,
  };
}
