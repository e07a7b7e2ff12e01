import { and, eq } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { lockKeys } from '../../db';
import { fail } from '../../errors';
import { sessions } from '../../schema';
import { messageView } from '../../views';
import { pairLock } from './lock-keys';
import { recordReply } from './record-reply';

/** Finds a session the calling agent takes part in; anyone else's is 404. */
export async function findOwnSession(ctx: Ctx, sessionId: string) {
  const agent = requireKind(ctx.principal, 'agent');
  const [session] = await ctx.db
    .select()
    .from(sessions)
    .where(and(eq(sessions.id, sessionId), eq(sessions.organizationId, agent.organizationId)));
  if (!session || (session.agentA !== agent.agentId && session.agentB !== agent.agentId)) {
    throw fail.notFound('session', sessionId);
  }
  return { agent, session };
}

/** The recipient of a sync request answers it through the API. */
export async function replyToSession(
  ctx: Ctx,
  sessionId: string,
  input: { content: unknown; metadata?: Record<string, unknown> | undefined },
) {
  const { agent, session } = await findOwnSession(ctx, sessionId);
  const result = await ctx.db.transaction(async (tx) => {
    await lockKeys(tx, pairLock(session.agentA, session.agentB));
    return recordReply(tx, ctx.config.MAX_DELIVERY_ATTEMPTS, {
      organizationId: agent.organizationId,
      agentId: agent.agentId,
      sessionId,
      ...input,
    });
  });
  return { message: messageView(result.reply, null), late: result.late, deliveryIds: result.deliveryIds };
}
