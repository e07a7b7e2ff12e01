import { and, eq, ne } from 'drizzle-orm';
import type { Ctx } from '../../context';
import { lockKeys } from '../../db';
import { fail } from '../../errors';
import { sessions } from '../../schema';
import { messageView, sessionView } from '../../views';
import { findAgent } from '../agents/find-agent';
import { postMessages } from '../messages/post-messages';
import { pairLock } from './lock-keys';
import { findOwnSession } from './reply-to-session';

/**
 * Either participant ends the session: a waiting sender is released at once (409 session_ended),
 * an `ending` message from the ender goes to the other agent, and the pair's next send opens a
 * new session.
 */
export async function endSession(ctx: Ctx, sessionId: string) {
  const { agent, session } = await findOwnSession(ctx, sessionId);
  const otherId = session.agentA === agent.agentId ? session.agentB : session.agentA;
  return ctx.db.transaction(async (tx) => {
    await lockKeys(tx, pairLock(session.agentA, session.agentB));
    const [ended] = await tx
      .update(sessions)
      .set({
        status: 'ended',
        endedAt: new Date(),
        endedBy: agent.agentId,
        pendingRequestId: null,
        waiterId: null,
        waitDeadline: null,
      })
      .where(and(eq(sessions.id, sessionId), ne(sessions.status, 'ended')))
      .returning();
    if (!ended) throw fail.conflict('session_ended', `Session ${sessionId} has already ended.`);
    const other = await findAgent(tx, agent.organizationId, otherId);
    const posted = await postMessages(tx, ctx.config.MAX_DELIVERY_ATTEMPTS, {
      organizationId: agent.organizationId,
      senderId: agent.agentId,
      recipients: [other],
      push: other.status === 'active',
      kind: 'ending',
      content: { event: 'session_ended' },
      sessionId,
    });
    const [message] = posted.rows;
    if (!message) throw new Error('insert returned no row');
    return {
      session: sessionView(ended),
      message: messageView(message, null),
      deliveryIds: posted.deliveryIds,
    };
  });
}
