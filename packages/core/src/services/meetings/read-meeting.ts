import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Ctx } from '../../context';
import type { Db } from '../../db';
import type { Config } from '../../env';
import { fail } from '../../errors';
import { pollUntil } from '../../poll';
import { meetingEvents, meetings, messages } from '../../schema';
import { eventView, meetingView } from '../../views';
import { viewMessages } from '../messages/view-messages';
import { readMeetingState } from './meeting-tx';
import { changeMeeting, organizationOf } from './with-meeting';

/**
 * Applies the meeting's overdue turns if it has any (cheap check first; then one load and one
 * batch for up to MAX_CATCH_UP turns). Returns the outbox ids this produced and the meeting's next
 * deadline, or null when nothing was overdue.
 */
export async function catchUp(
  db: Db,
  config: Pick<Config, 'MAX_DELIVERY_ATTEMPTS'>,
  organizationId: string,
  meetingId: string,
): Promise<{ deliveryIds: string[]; wakeAt: number | null } | null> {
  const [overdue] = await db
    .select({ id: meetings.id })
    .from(meetings)
    .where(
      and(eq(meetings.id, meetingId), eq(meetings.status, 'active'), sql`${meetings.turnEndsAt} <= now()`),
    );
  if (!overdue) return null;
  return changeMeeting(db, config, { organizationId, meetingId }, async () => ({}), { optimistic: true });
}

/**
 * The meeting if the caller may see it: the organization key, or an agent that was ever invited.
 * The meeting and its participants come from one statement, so they agree.
 */
async function loadVisible(ctx: Ctx, organizationId: string, meetingId: string) {
  const { meeting, participants } = await readMeetingState(ctx.db, organizationId, meetingId);
  const { principal } = ctx;
  if (principal.kind === 'agent' && !participants.some((p) => p.agentId === principal.agentId)) {
    throw fail.notFound('meeting', meetingId);
  }
  return meetingView(meeting, participants);
}

/** Reads the meeting after applying its overdue turns, so what is read is exact. */
export async function readMeeting(ctx: Ctx, meetingId: string) {
  const organizationId = organizationOf(ctx.principal);
  const before = await loadVisible(ctx, organizationId, meetingId);
  const caughtUp = await catchUp(ctx.db, ctx.config, organizationId, meetingId);
  const meeting = caughtUp ? await loadVisible(ctx, organizationId, meetingId) : before;
  return { meeting, deliveryIds: caughtUp?.deliveryIds ?? [], wakeAt: caughtUp?.wakeAt ?? null };
}

/** The meeting's messages in order, system and timeout messages included. */
export async function meetingMessages(
  ctx: Ctx,
  meetingId: string,
  input: { after?: string | undefined; limit: number },
) {
  const { deliveryIds, wakeAt } = await readMeeting(ctx, meetingId);
  const rows = await ctx.db
    .select()
    .from(messages)
    .where(and(eq(messages.meetingId, meetingId), ...(input.after ? [gt(messages.id, input.after)] : [])))
    .orderBy(asc(messages.id))
    .limit(input.limit);
  return { messages: await viewMessages(ctx.db, rows), deliveryIds, wakeAt };
}

/**
 * Events after `after` (a seq), oldest first. With waitMs it long-polls, catching up overdue turns
 * on every poll, so a watcher sees a timeout about when it happens even between sweeps. `ended`
 * says the meeting is over and nothing comes after these events: a watcher stops there (an
 * ended meeting is never waited on).
 */
export async function meetingEventsAfter(
  ctx: Ctx,
  meetingId: string,
  input: { after: number; limit: number; waitMs: number },
) {
  const opened = await readMeeting(ctx, meetingId);
  const { meeting, deliveryIds } = opened;
  let wakeAt = opened.wakeAt;
  const organizationId = organizationOf(ctx.principal);
  const read = async () => {
    const caughtUp = await catchUp(ctx.db, ctx.config, organizationId, meetingId);
    if (caughtUp) {
      deliveryIds.push(...caughtUp.deliveryIds);
      wakeAt = caughtUp.wakeAt;
    }
    const rows = await ctx.db
      .select()
      .from(meetingEvents)
      .where(and(eq(meetingEvents.meetingId, meetingId), gt(meetingEvents.seq, input.after)))
      .orderBy(asc(meetingEvents.seq))
      .limit(input.limit);
    return rows.length > 0 ? rows : undefined;
  };
  const waitMs = meeting.status === 'ended' ? 0 : input.waitMs;
  const rows = (await pollUntil(read, Date.now() + waitMs, { initialMs: 50, maxMs: 500 })) ?? [];
  // meeting_ended is an ended meeting's last event; a full page of an ended one may not reach it.
  const ended =
    rows.at(-1)?.type === 'meeting_ended' || (meeting.status === 'ended' && rows.length < input.limit);
  return { events: rows.map(eventView), ended, deliveryIds, wakeAt };
}
