import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../../db';
import { AppError } from '../../errors';
import { pollUntil } from '../../poll';
import { messages, sessions } from '../../schema';
import { messageView } from '../../views';
import { expireWaits } from './expire-waits';

type Outcome = { reply: typeof messages.$inferSelect } | { ended: true } | { expired: true };

async function check(db: Db, sessionId: string, requestId: string): Promise<Outcome | undefined> {
  const [row] = await db
    .select({ status: sessions.status, pendingRequestId: sessions.pendingRequestId, reply: messages })
    .from(sessions)
    .leftJoin(messages, eq(messages.inReplyToId, requestId))
    .where(eq(sessions.id, sessionId));
  if (!row) return { expired: true };
  if (row.reply) return { reply: row.reply };
  if (row.status === 'ended') return { ended: true };
  if (row.pendingRequestId !== requestId) return { expired: true };
  return undefined;
}

/**
 * Holds the sender's request until the reply exists, the session ends or the deadline passes,
 * polling with backoff (Neon's serverless driver has no LISTEN on pooled connections, and a poll
 * survives any instance). The reply handed back here counts as acknowledged.
 */
export async function awaitReply(
  db: Db,
  wait: { sessionId: string; requestId: string; deadline: Date; delivered?: Promise<unknown> },
) {
  const { sessionId, requestId } = wait;
  // `delivered` settles when the push to the recipient's endpoint finished: an inline reply is
  // recorded by then, so look at once instead of at the next poll.
  let outcome = await pollUntil(() => check(db, sessionId, requestId), wait.deadline.getTime(), {
    initialMs: 20,
    maxMs: 500,
    ...(wait.delivered && { wake: wait.delivered }),
  });
  if (!outcome) {
    // Our deadline: expire our wait ourselves (unless a reply committed first), then look once
    // more. By request id, not by the database's clock, so a 504 never leaves the session waiting.
    await db.transaction((tx) => expireWaits(tx, { sessionId, requestId }));
    outcome = (await check(db, sessionId, requestId)) ?? { expired: true };
  }
  if ('reply' in outcome) {
    const [acknowledged] = await db
      .update(messages)
      .set({ acknowledgedAt: new Date() })
      .where(and(eq(messages.id, outcome.reply.id), isNull(messages.acknowledgedAt)))
      .returning();
    return { sessionId, reply: messageView(acknowledged ?? outcome.reply, null) };
  }
  if ('ended' in outcome) {
    throw new AppError(409, 'session_ended', 'The session was ended while you waited for the reply.', {
      sessionId,
      requestId,
    });
  }
  throw new AppError(504, 'timeout', 'No reply in time. A later reply will be kept in your inbox.', {
    sessionId,
    requestId,
  });
}
