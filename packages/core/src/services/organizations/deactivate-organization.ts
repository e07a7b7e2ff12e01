import { and, asc, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { fail } from '../../errors';
import { agents, apiKeys, deliveries, meetings, organizations, sessions } from '../../schema';
import { organizationView } from '../../views';
import { MeetingTx } from '../meetings/meeting-tx';

/**
 * Admin only: deactivates an organization in one transaction. Its key and every agent token are
 * revoked (they stop at once, whatever an isolate remembers), its agents deactivated, its meetings
 * ended (`organization_deactivated`, each under its lock, with its events), its sessions ended
 * (a waiting sender is released), its pending deliveries dead with the reason. Nothing is
 * deleted. Deactivating it again changes nothing.
 */
export async function deactivateOrganization(ctx: Ctx, organizationId: string) {
  requireKind(ctx.principal, 'admin');
  return ctx.db.transaction(async (tx) => {
    const [found] = await tx
      .select()
      .from(organizations)
      .where(eq(organizations.id, organizationId))
      .for('update');
    if (!found) throw fail.notFound('organization', organizationId);
    if (found.deactivatedAt) return { organization: organizationView(found) };
    const now = new Date();
    const [organization] = await tx
      .update(organizations)
      .set({ deactivatedAt: now })
      .where(eq(organizations.id, organizationId))
      .returning();
    await tx
      .update(apiKeys)
      .set({ revokedAt: now })
      .where(and(eq(apiKeys.organizationId, organizationId), isNull(apiKeys.revokedAt)));
    await tx
      .update(agents)
      .set({ status: 'deactivated', deactivatedAt: now })
      .where(and(eq(agents.organizationId, organizationId), eq(agents.status, 'active')));
    // Its agents are deactivated first, so ending the meetings pushes nothing to anyone.
    const open = await tx
      .select({ id: meetings.id })
      .from(meetings)
      .where(and(eq(meetings.organizationId, organizationId), ne(meetings.status, 'ended')))
      .orderBy(asc(meetings.id));
    for (const { id } of open) {
      const meeting = await MeetingTx.open(tx, ctx.config, organizationId, id);
      if (meeting.meeting.status !== 'ended') {
        await meeting.end({ reason: 'organization_deactivated', endedBy: null });
      }
    }
    await tx
      .update(sessions)
      .set({ status: 'ended', endedAt: now, pendingRequestId: null, waiterId: null, waitDeadline: null })
      .where(and(eq(sessions.organizationId, organizationId), ne(sessions.status, 'ended')));
    await tx
      .update(deliveries)
      .set({ status: 'dead', lastError: 'organization deactivated', nextAttemptAt: sql`now()` })
      .where(
        and(eq(deliveries.organizationId, organizationId), inArray(deliveries.status, ['queued', 'failed'])),
      );
    return { organization: organizationView(organization ?? found) };
  });
}
