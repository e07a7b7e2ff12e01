import { and, desc, eq, inArray, isNull, lt, or, type SQL } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { messages, sessions } from '../../schema';
import { findAgent } from '../agents/find-agent';
import { resolveAgentRef } from '../agents/resolve-agent-refs';
import { viewMessages } from '../messages/view-messages';

export interface HistoryInput {
  agentId: string;
  before?: string | undefined;
  limit: number;
}

/**
 * Everything between the caller and one agent, both directions and every session, in order. Pages
 * go back in time: `nextCursor` is the `before` of the previous page.
 */
export async function conversationHistory(ctx: Ctx, request: HistoryInput) {
  const me = requireKind(ctx.principal, 'agent');
  const input = { ...request, agentId: await resolveAgentRef(ctx, request.agentId) };
  await findAgent(ctx.db, me.organizationId, input.agentId);
  const [agentA, agentB] =
    me.agentId < input.agentId ? [me.agentId, input.agentId] : [input.agentId, me.agentId];
  const pairSessions = ctx.db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(eq(sessions.agentA, agentA), eq(sessions.agentB, agentB)));
  const filters: SQL[] = [
    or(
      and(eq(messages.senderId, me.agentId), eq(messages.recipientId, input.agentId)),
      and(eq(messages.senderId, input.agentId), eq(messages.recipientId, me.agentId)),
      // The system's notes to me in our sessions (sync timeouts).
      and(
        isNull(messages.senderId),
        eq(messages.recipientId, me.agentId),
        inArray(messages.sessionId, pairSessions),
      ),
    ) as SQL,
  ];
  if (input.before) filters.push(lt(messages.id, input.before));
  const rows = await ctx.db
    .select()
    .from(messages)
    .where(and(...filters))
    .orderBy(desc(messages.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit).reverse();
  return {
    messages: await viewMessages(ctx.db, page),
    nextCursor: rows.length > input.limit ? (page[0]?.id ?? null) : null,
  };
}
