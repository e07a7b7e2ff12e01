import { type SQL, sql } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { rowFromJson } from '../../db';
import { fail } from '../../errors';
import { meetingParticipants, meetings } from '../../schema';
import { meetingView } from '../../views';
import { checkedCaller, subjectAgent } from '../messages/checked-caller';

export interface ListMeetingsInput {
  status?: 'created' | 'ready' | 'active' | 'ended' | undefined;
  /** The agent's part: it hosts them, or it was invited by another host. */
  role?: 'host' | 'participant' | undefined;
  /** The organization key's choice of agent (an agent token is always itself). */
  agentId?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

/**
 * The caller's meetings (an agent token: those it hosts or was ever invited to), or the
 * organization's (its key, optionally one agent's), newest first, with their participants. One
 * statement: the key, the page. Meetings are shown as stored: the clock applies their deadlines on
 * time, and `GET /v1/meetings/{id}` applies any it finds overdue.
 */
export async function listMeetings(ctx: Ctx, input: ListMeetingsInput) {
  const caller = requireKind(ctx.principal, 'agent', 'organization');
  const agentId = await subjectAgent(ctx, caller, input.agentId, 'meetings');
  if (!agentId && input.role) throw fail.validation('role needs agentId with the organization key.');
  const conditions: SQL[] = [sql`organization_id = ${caller.organizationId}`];
  const takesPart = sql`EXISTS (SELECT 1 FROM meeting_participants p WHERE p.meeting_id = meetings.id AND p.agent_id = ${agentId})`;
  if (agentId && input.role === 'host') conditions.push(sql`host_id = ${agentId}`);
  else if (agentId && input.role === 'participant')
    conditions.push(sql`host_id <> ${agentId} AND ${takesPart}`);
  else if (agentId) conditions.push(takesPart);
  if (input.status) conditions.push(sql`status = ${input.status}`);
  if (input.cursor) conditions.push(sql`id < ${input.cursor}`);
  const named = caller.kind === 'organization' && agentId ? [agentId] : [];
  const { rows } = await ctx.db.execute<{
    meeting: Record<string, unknown> | null;
    participants: Record<string, unknown>[] | null;
  }>(sql`
    SELECT to_jsonb(m) AS meeting,
           (SELECT jsonb_agg(to_jsonb(p)) FROM meeting_participants p WHERE p.meeting_id = m.id) AS participants
    FROM ${checkedCaller(caller, named)}
    LEFT JOIN LATERAL (
      SELECT * FROM meetings WHERE ${sql.join(conditions, sql` AND `)} ORDER BY id DESC LIMIT ${input.limit + 1}
    ) m ON true
    ORDER BY m.id DESC`);
  const found = rows.flatMap(({ meeting, participants }) =>
    meeting
      ? [
          meetingView(
            rowFromJson(meetings, meeting),
            (participants ?? []).map((p) => rowFromJson(meetingParticipants, p)),
          ),
        ]
      : [],
  );
  const page = found.slice(0, input.limit);
  return { meetings: page, nextCursor: found.length > input.limit ? (page.at(-1)?.id ?? null) : null };
}
