import { type SQL, sql } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { rowFromJson } from '../../db';
import { fail } from '../../errors';
import { messages } from '../../schema';
import { type DeliveryStatus, messageView } from '../../views';
import { resolveAgentRef } from '../agents/resolve-agent-refs';
import { checkedCaller } from './checked-caller';

export interface SearchInput {
  /** Web search syntax: words, "a phrase", -excluded, or. */
  q: string;
  with?: string | undefined;
  sessionId?: string | undefined;
  meetingId?: string | undefined;
  kind?: (typeof messages.$inferSelect)['kind'] | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** Where the next page starts: the last hit's rank (as PostgreSQL printed it, exact) and id. */
const encodeCursor = (rank: string, id: string) =>
  Buffer.from(JSON.stringify([rank, id])).toString('base64url');

function decodeCursor(cursor: string): [string, string] {
  try {
    const [rank, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (typeof rank === 'string' && /^[0-9.e+-]+$/i.test(rank) && typeof id === 'string') return [rank, id];
  } catch {
    // refused below
  }
  throw fail.validation('cursor is not a nextCursor of this search.');
}

/**
 * Full-text search (PostgreSQL websearch syntax, English stemming) over the text of messages'
 * content, best first (ts_rank, then newest), each hit with a snippet marking the words found.
 * An agent finds what it sent or received and what was said in meetings it takes part in; the
 * organization key finds its organization's. One statement, which checks the key.
 */
export async function searchMessages(ctx: Ctx, input: SearchInput) {
  const caller = requireKind(ctx.principal, 'agent', 'organization');
  const other = input.with ? await resolveAgentRef(ctx, input.with) : null;
  const conditions: SQL[] = [sql`m.organization_id = ${caller.organizationId}`, sql`m.search @@ q.query`];
  if (caller.kind === 'agent') {
    const me = caller.agentId;
    conditions.push(sql`(m.sender_id = ${me} OR m.recipient_id = ${me} OR m.meeting_id IN (
      SELECT meeting_id FROM meeting_participants WHERE agent_id = ${me}))`);
  }
  if (other) conditions.push(sql`(m.sender_id = ${other} OR m.recipient_id = ${other})`);
  if (input.sessionId) conditions.push(sql`m.session_id = ${input.sessionId}`);
  if (input.meetingId) conditions.push(sql`m.meeting_id = ${input.meetingId}`);
  if (input.kind) conditions.push(sql`m.kind = ${input.kind}`);
  if (input.cursor) {
    const [rank, id] = decodeCursor(input.cursor);
    conditions.push(sql`(ts_rank(m.search, q.query), m.id) < (${rank}::real, ${id})`);
  }
  const { rows } = await ctx.db.execute<{
    message: Record<string, unknown> | null;
    rank: string | null;
    snippet: string | null;
    status: DeliveryStatus | null;
  }>(sql`
    WITH q AS (SELECT websearch_to_tsquery('english', ${input.q}) AS query)
    SELECT to_jsonb(h) - 'search' - 'rank' AS message, h.rank::text AS rank, d.status,
           ts_headline('english', am_content_text(h.content), q.query,
                       'StartSel=<mark>, StopSel=</mark>, MaxWords=24, MinWords=8, MaxFragments=2') AS snippet
    FROM ${checkedCaller(caller, other ? [other] : [])}
    CROSS JOIN q
    LEFT JOIN LATERAL (
      SELECT m.*, ts_rank(m.search, q.query) AS rank FROM messages m
      WHERE ${sql.join(conditions, sql` AND `)}
      ORDER BY rank DESC, m.id DESC LIMIT ${input.limit + 1}
    ) h ON true
    LEFT JOIN deliveries d ON d.message_id = h.id
    ORDER BY h.rank DESC, h.id DESC`);
  const hits = rows.flatMap(({ message, rank, snippet, status }) =>
    message && rank
      ? [{ message: messageView(rowFromJson(messages, message), status), rank, snippet: snippet ?? '' }]
      : [],
  );
  const page = hits.slice(0, input.limit);
  const last = page.at(-1);
  return {
    results: page.map(({ message, rank, snippet }) => ({ message, rank: Number(rank), snippet })),
    nextCursor: hits.length > input.limit && last ? encodeCursor(last.rank, last.message.id) : null,
  };
}
