import { and, eq, inArray, isNull } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { messages } from '../../schema';

/**
 * Acknowledges the caller's own messages among `messageIds`: they leave its inbox. Ids that are
 * not the caller's, unknown or already acknowledged are ignored and never touched.
 */
export async function ackInbox(ctx: Ctx, messageIds: string[]) {
  const agent = requireKind(ctx.principal, 'agent');
  const acknowledged = await ctx.db
    .update(messages)
    .set({ acknowledgedAt: new Date() })
    .where(
      and(
        inArray(messages.id, messageIds),
        eq(messages.recipientId, agent.agentId),
        isNull(messages.acknowledgedAt),
      ),
    )
    .returning({ id: messages.id });
  return { acknowledged: acknowledged.map((row) => row.id) };
}
