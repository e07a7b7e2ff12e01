import type { SQL } from 'drizzle-orm';
import { authorizedSql, type Principal, requireKind, verifyPrincipal } from '../../auth';
import type { Ctx } from '../../context';
import type { Db } from '../../db';
import type { Config } from '../../env';
import { isMeetingChanged, MeetingTx } from './meeting-tx';

/** The organization a caller acts in; the admin token has none (403). */
export function organizationOf(principal: Principal): string {
  return requireKind(principal, 'organization', 'agent').organizationId;
}

/** Loads before writing under the lock at most this often, then takes the lock first. */
const OPTIMISTIC_TRIES = 3;

/**
 * Runs `change` on the caught-up meeting and writes it atomically; returns its result, the
 * outbox ids (events, turns) to push after commit and the meeting's next deadline (`wakeAt`). `optimistic` (a change that rarely meets
 * another: a speech, a catch-up of overdue turns): load in one statement, then write everything in
 * one batch that checks nothing changed in between (`authorized`, the caller's key check, rides in
 * the load); a few tries, then the locked way. Otherwise (attending en masse, say): one
 * transaction under the meeting's lock.
 */
export async function changeMeeting<T>(
  db: Db,
  config: Pick<Config, 'MAX_DELIVERY_ATTEMPTS'>,
  target: { organizationId: string; meetingId: string },
  change: (meeting: MeetingTx) => Promise<T>,
  { optimistic = false, authorized }: { optimistic?: boolean; authorized?: SQL } = {},
) {
  const { organizationId, meetingId } = target;
  for (let tries = optimistic ? OPTIMISTIC_TRIES : 0; tries > 0; tries--) {
    const meeting = await MeetingTx.load(db, config, organizationId, meetingId, authorized);
    const result = await change(meeting);
    try {
      await meeting.commit(db);
      return { ...result, deliveryIds: meeting.deliveryIds, wakeAt: meeting.wakeAt };
    } catch (error) {
      if (!isMeetingChanged(error)) throw error;
    }
  }
  return db.transaction(async (tx) => {
    const meeting = await MeetingTx.open(tx, config, organizationId, meetingId);
    const result = await change(meeting);
    return { ...result, deliveryIds: meeting.deliveryIds, wakeAt: meeting.wakeAt };
  });
}

/** `changeMeeting` for a caller: its organization's meeting, its key checked (in the load when it can be). */
export async function withMeeting<T>(
  ctx: Ctx,
  meetingId: string,
  change: (meeting: MeetingTx) => Promise<T>,
  { optimistic = false }: { optimistic?: boolean } = {},
) {
  const { principal } = ctx;
  const organizationId = organizationOf(principal);
  const unverified = principal.kind !== 'admin' && !principal.verified;
  // The locked way loads under the lock, without the key check: check it first.
  if (!optimistic) await verifyPrincipal(ctx.db, principal);
  return changeMeeting(ctx.db, ctx.config, { organizationId, meetingId }, change, {
    optimistic,
    ...(optimistic && unverified && { authorized: authorizedSql(principal) }),
  });
}
