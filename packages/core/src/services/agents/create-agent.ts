import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { checkEndpointUrl } from '../../endpoint-url';
import { fail } from '../../errors';
import { newId } from '../../ids';
import { agents } from '../../schema';
import { agentView } from '../../views';
import { isUniqueViolation } from '../unique-violation';
import { insertAgentKey, issueAgentCredentials } from './credentials';

export interface CreateAgentInput {
  name: string;
  externalId?: string | undefined;
  endpointUrl?: string | undefined;
  description?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

export async function createAgent(ctx: Ctx, input: CreateAgentInput) {
  const { organizationId } = requireKind(ctx.principal, 'organization');
  const endpointUrl = input.endpointUrl
    ? checkEndpointUrl(input.endpointUrl, ctx.config.ALLOW_PRIVATE_ENDPOINTS)
    : null;
  const credentials = await issueAgentCredentials(ctx.config.ENCRYPTION_KEY);
  try {
    return await ctx.db.transaction(async (tx) => {
      const [agent] = await tx
        .insert(agents)
        .values({
          id: newId('agent'),
          organizationId,
          name: input.name,
          externalId: input.externalId ?? null,
          description: input.description ?? null,
          endpointUrl,
          metadata: input.metadata ?? {},
          signingSecretEncrypted: credentials.signingSecretEncrypted,
        })
        .returning();
      if (!agent) throw new Error('insert returned no row');
      await insertAgentKey(tx, organizationId, agent.id, credentials);
      return { agent: agentView(agent), token: credentials.token, signingSecret: credentials.signingSecret };
    });
  } catch (error) {
    throw externalIdConflict(error, input.externalId);
  }
}

/** Maps the externalId unique violation to a 409, passing anything else through. */
export function externalIdConflict(error: unknown, externalId: string | null | undefined): unknown {
  return isUniqueViolation(error, 'agents_org_external_id_key')
    ? fail.conflict(
        'external_id_taken',
        `An agent with externalId ${externalId} exists in this organization.`,
      )
    : error;
}
