import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../../db';
import { AppError } from '../../errors';
import { pollUntil } from '../../poll';
import { messages, sessions } from '../../schema';
import { messageView } from '../../views';
import { expireWaits } from './expire-waits';

type Message = typeof messages.$inferSelect;
type Outcome = { reply: Message } | { ended: true } | { expired: true };

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
 * survives any instance). `inline` is the caller's own push of the request: a reply it brought
 * back is taken without a poll, and no poll runs before it settles or the first backoff step
 * passes. The reply handed back here counts as acknowledged.
 */
export async function awaitReply(
  db: Db,
  wait: { sessionId: string; requestId: string; deadline: Date; inline?: Promise<Message | undefined> },
) {
  const { sessionId, requestId } = wait;
  let inlineReply: Message | undefined;
  const pushed = wait.inline?.then((reply) => {
    inlineReply = reply;
  });
  const look = async () => (inlineReply ? { reply: inlineReply } : check(db, sessionId, requestId));
  let outcome = await pollUntil(look, wait.deadline.getTime(), {
    initialMs: 20,
    maxMs: 500,
    ...(pushed && { wake: pushed, firstLookAfterWake: true }),
  });
  if (!outcome) {
    // Our deadline: expire our wait ourselves (unless a reply committed first), then look once
    // more. By request id, not by the database's clock, so a 504 never leaves the session waiting.
    await expireWaits(db, { sessionId, requestId });
    outcome = (await check(db, sessionId, requestId)) ?? { expired: true };
  }
  if ('reply' in outcome) {
    const { reply } = outcome;
    if (reply.acknowledgedAt) return { sessionId, reply: messageView(reply, null) };
    const [acknowledged] = await db
      .update(messages)
      .set({ acknowledgedAt: new Date() })
      .where(and(eq(messages.id, reply.id), isNull(messages.acknowledgedAt)))
      .returning();
    return { sessionId, reply: messageView(acknowledged ?? reply, null) };
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
