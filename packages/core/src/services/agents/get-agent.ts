import { requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { agentView } from '../../views';
import { findAgent } from './find-agent';

export async function getAgent(ctx: Ctx, agentId: string) {
  const { organizationId } = requireKind(ctx.principal, 'organization');
  return { agent: agentView(await findAgent(ctx.db, organizationId, agentId)) };
}
