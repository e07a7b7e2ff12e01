import { type Principal, requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { MeetingTx } from './meeting-tx';

/** The organization a caller acts in; the admin token has none (403). */
export function organizationOf(principal: Principal): string {
  return requireKind(principal, 'organization', 'agent').organizationId;
}

/**
 * Runs `change` on the locked, caught-up meeting in one transaction; returns its result and the
 * outbox ids (events, turns) to hand to the dispatcher after commit.
 */
export async function withMeeting<T>(
  ctx: Ctx,
  meetingId: string,
  change: (meeting: MeetingTx) => Promise<T>,
) {
  const organizationId = organizationOf(ctx.principal);
  return ctx.db.transaction(async (tx) => {
    const meeting = await MeetingTx.open(tx, ctx.config, organizationId, meetingId);
    const result = await change(meeting);
    return { ...result, deliveryIds: meeting.deliveryIds };
  });
}
