import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { generateToken, sha256Hex, tokenPrefix } from '../../crypto';
import { fail } from '../../errors';
import { newId } from '../../ids';
import { apiKeys, organizations } from '../../schema';
import { organizationView } from '../../views';
import { isUniqueViolation } from '../unique-violation';

export interface CreateOrganizationInput {
  name: string;
  externalId?: string | undefined;
}

/** Admin only: a new organization and its first organization key (shown once). */
export async function createOrganization(ctx: Ctx, input: CreateOrganizationInput) {
  requireKind(ctx.principal, 'admin');
  const apiKey = generateToken('org');
  const hash = await sha256Hex(apiKey);
  try {
    return await ctx.db.transaction(async (tx) => {
      const [organization] = await tx
        .insert(organizations)
        .values({ id: newId('organization'), name: input.name, externalId: input.externalId ?? null })
        .returning();
      if (!organization) throw new Error('insert returned no row');
      await tx.insert(apiKeys).values({
        id: newId('apiKey'),
        organizationId: organization.id,
        kind: 'organization',
        prefix: tokenPrefix(apiKey),
        hash,
      });
      return { organization: organizationView(organization), apiKey };
    });
  } catch (error) {
    if (isUniqueViolation(error, 'organizations_external_id_key')) {
      throw fail.conflict('external_id_taken', `An organization with externalId ${input.externalId} exists.`);
    }
    throw error;
  }
}
