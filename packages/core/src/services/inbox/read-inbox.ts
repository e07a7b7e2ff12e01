import { and, asc, eq, isNull, type SQL } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { pollUntil } from '../../poll';
import { messages } from '../../schema';
import { viewMessages } from '../messages/view-messages';

export interface ReadInboxInput {
  from?: string | undefined;
  limit: number;
  /** Wait up to this long for something to arrive when the inbox is empty (long-poll). */
  waitMs: number;
}

/**
 * The caller's unacknowledged messages, oldest first. Reading does not acknowledge: a reader that
 * crashes gets the same messages again. With waitMs, the stored inbox is checked first, then polled.
 */
export async function readInbox(ctx: Ctx, input: ReadInboxInput) {
  const agent = requireKind(ctx.principal, 'agent');
  const filters: SQL[] = [eq(messages.recipientId, agent.agentId), isNull(messages.acknowledgedAt)];
  if (input.from) filters.push(eq(messages.senderId, input.from));
  const read = async () => {
    const rows = await ctx.db
      .select()
      .from(messages)
      .where(and(...filters))
      .orderBy(asc(messages.id))
      .limit(input.limit);
    return rows.length > 0 ? rows : undefined;
  };
  const rows = (await pollUntil(read, Date.now() + input.waitMs, { initialMs: 50, maxMs: 1000 })) ?? [];
  return { messages: await viewMessages(ctx.db, rows) };
}
