import { and, eq } from 'drizzle-orm';
import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { checkEndpointUrl } from '../../endpoint-url';
import { agents } from '../../schema';
import { agentView } from '../../views';
import { externalIdConflict } from './create-agent';
import { findAgent } from './find-agent';

export interface UpdateAgentInput {
  name?: string | undefined;
  externalId?: string | null | undefined;
  endpointUrl?: string | null | undefined;
  description?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/** Changes what is given. Setting endpointUrl (even to the same URL) re-enables a disabled endpoint. */
export async function updateAgent(ctx: Ctx, agentId: string, input: UpdateAgentInput) {
  const { organizationId } = requireKind(ctx.principal, 'organization');
  const endpoint =
    input.endpointUrl === undefined
      ? {}
      : {
          endpointUrl:
            input.endpointUrl === null
              ? null
              : checkEndpointUrl(input.endpointUrl, ctx.config.ALLOW_PRIVATE_ENDPOINTS),
          endpointDisabledAt: null,
        };
  try {
    const [agent] = await ctx.db
      .update(agents)
      .set({
        ...(input.name !== undefined && { name: input.name }),
        ...(input.externalId !== undefined && { externalId: input.externalId }),
        ...(input.description !== undefined && { description: input.description }),
        ...(input.metadata !== undefined && { metadata: input.metadata }),
        ...endpoint,
        updatedAt: new Date(),
      })
      .where(and(eq(agents.organizationId, organizationId), eq(agents.id, agentId)))
      .returning();
    return { agent: agentView(agent ?? (await findAgent(ctx.db, organizationId, agentId))) };
  } catch (error) {
    throw externalIdConflict(error, input.externalId);
  }
}
