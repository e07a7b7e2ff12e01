import { eq } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { fail } from '../../errors';
import { organizations } from '../../schema';
import { organizationView } from '../../views';

/**
 * The caller's own organization: everything for its organization key, its id and name for its
 * agents.
 */
export async function getOwnOrganization(ctx: Ctx) {
  const caller = requireKind(ctx.principal, 'organization', 'agent');
  const [row] = await ctx.db.select().from(organizations).where(eq(organizations.id, caller.organizationId));
  if (!row) throw fail.notFound('organization', caller.organizationId);
  return {
    organization: caller.kind === 'organization' ? organizationView(row) : { id: row.id, name: row.name },
  };
}

/** Admin only: any organization, deactivated ones included. */
export async function getOrganization(ctx: Ctx, organizationId: string) {
  requireKind(ctx.principal, 'admin');
  const [row] = await ctx.db.select().from(organizations).where(eq(organizations.id, organizationId));
  if (!row) throw fail.notFound('organization', organizationId);
  return { organization: organizationView(row) };
}
