import { authorizedSql, type Principal, requireKind, verifyPrincipal } from '../../auth';
import type { Ctx } from '../../context';
import { isMeetingChanged, MeetingTx } from './meeting-tx';

/** The organization a caller acts in; the admin token has none (403). */
export function organizationOf(principal: Principal): string {
  return requireKind(principal, 'organization', 'agent').organizationId;
}

/** Loads before writing under the lock at most this often, then takes the lock first. */
const OPTIMISTIC_TRIES = 3;

/**
 * Runs `change` on the caught-up meeting and writes it atomically; returns its result and the
 * outbox ids (events, turns) to push after commit. `optimistic` (a change that rarely meets
 * another, like a speech): load in one statement, then write in one batch that checks nothing
 * changed in between, the caller's key checked in the load; a few tries, then the locked way.
 * Otherwise (attending en masse, say): one transaction under the meeting's lock.
 */
export async function withMeeting<T>(
  ctx: Ctx,
  meetingId: string,
  change: (meeting: MeetingTx) => Promise<T>,
  { optimistic = false }: { optimistic?: boolean } = {},
) {
  const { principal } = ctx;
  const organizationId = organizationOf(principal);
  for (let tries = optimistic ? OPTIMISTIC_TRIES : 0; tries > 0; tries--) {
    const authorized =
      principal.kind !== 'admin' && !principal.verified ? authorizedSql(principal) : undefined;
    const meeting = await MeetingTx.load(ctx.db, ctx.config, organizationId, meetingId, authorized);
    const result = await change(meeting);
    try {
      await meeting.commit(ctx.db);
      return { ...result, deliveryIds: meeting.deliveryIds };
    } catch (error) {
      if (!isMeetingChanged(error)) throw error;
    }
  }
  await verifyPrincipal(ctx.db, principal);
  return ctx.db.transaction(async (tx) => {
    const meeting = await MeetingTx.open(tx, ctx.config, organizationId, meetingId);
    const result = await change(meeting);
    return { ...result, deliveryIds: meeting.deliveryIds };
  });
}
