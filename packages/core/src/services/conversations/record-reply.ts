import { and, desc, eq, isNotNull } from 'drizzle-orm';
import type { Tx } from '../../db';
import { fail } from '../../errors';
import { agents, messages, sessions } from '../../schema';
import { postMessages } from '../messages/post-messages';
import { isUniqueViolation } from '../unique-violation';
import { expireWaits } from './expire-waits';

export interface ReplyInput {
  organizationId: string;
  /** The agent replying: the recipient of the request. */
  agentId: string;
  sessionId: string;
  content: unknown;
  /**
   * The request answered. By default the pending one if it is addressed to the agent, else the
   * latest sync request addressed to it in the session.
   */
  requestId?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

type Session = typeof sessions.$inferSelect;

/** The sync request a reply answers, addressed to the replying agent in this session, with its sender. */
async function findRequest(tx: Tx, session: Session, input: ReplyInput) {
  const requestId =
    input.requestId ??
    (session.status === 'waiting' && session.waiterId !== input.agentId
      ? (session.pendingRequestId as string)
      : undefined);
  const [found] = await tx
    .select({ request: messages, sender: agents })
    .from(messages)
    .innerJoin(agents, eq(agents.id, messages.senderId))
    .where(
      and(
        eq(messages.sessionId, session.id),
        eq(messages.recipientId, input.agentId),
        isNotNull(messages.replyDeadline),
        ...(requestId ? [eq(messages.id, requestId)] : []),
      ),
    )
    .orderBy(desc(messages.id))
    .limit(1);
  return found;
}

/**
 * Records the reply to a sync request; the caller holds the pair's lock. On time, it ends the wait
 * (the waiting sender picks it up). Late (the wait timed out, or the session ended meanwhile), it
 * is pushed to the sender like any message and stays in its inbox until acknowledged: a reply is
 * never refused for being late. One reply per request (a unique index).
 */
export async function recordReply(tx: Tx, attemptLimit: number, input: ReplyInput) {
  await expireWaits(tx, { sessionId: input.sessionId });
  const [session] = await tx
    .select()
    .from(sessions)
    .where(and(eq(sessions.id, input.sessionId), eq(sessions.organizationId, input.organizationId)))
    .for('update');
  if (!session || (session.agentA !== input.agentId && session.agentB !== input.agentId)) {
    throw fail.notFound('session', input.sessionId);
  }
  const found = await findRequest(tx, session, input);
  if (!found) {
    if (input.requestId) throw fail.notFound('message', input.requestId);
    if (session.status === 'ended') throw fail.conflict('session_ended', `Session ${session.id} has ended.`);
    throw fail.conflict('no_pending_request', 'There is no request addressed to you to reply to.');
  }
  const { request, sender } = found;
  const onTime = session.pendingRequestId === request.id;
  let posted: Awaited<ReturnType<typeof postMessages>>;
  try {
    posted = await postMessages(tx, attemptLimit, {
      organizationId: input.organizationId,
      senderId: input.agentId,
      recipients: [sender],
      // Pushed only when late: on time, the waiting sender gets it in its HTTP response.
      push: !onTime && sender.status === 'active',
      content: input.content,
      metadata: input.metadata,
      sessionId: session.id,
      inReplyToId: request.id,
    });
  } catch (error) {
    // One reply per request: the unique index decides, also between two replies at once.
    if (isUniqueViolation(error, 'messages_one_reply_key')) {
      throw fail.conflict('already_replied', `Request ${request.id} was already answered.`);
    }
    throw error;
  }
  if (onTime) {
    await tx
      .update(sessions)
      .set({ status: 'active', pendingRequestId: null, waiterId: null, waitDeadline: null })
      .where(eq(sessions.id, session.id));
  }
  const [reply] = posted.rows;
  if (!reply) throw new Error('insert returned no row');
  return { reply, late: !onTime, deliveryIds: posted.deliveryIds };
}
