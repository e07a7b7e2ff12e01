import { sql } from 'drizzle-orm';
import { authorizedSql, requireKind } from '../../auth';
import type { Ctx } from '../../context';
import { rowFromJson } from '../../db';
import { fail } from '../../errors';
import { agents } from '../../schema';
import { directoryEntryView } from '../../views';

/**
 * Who the caller is: the kind of its credential, its organization's id and name, and for an agent
 * token its own directory entry. One statement, the key checked in it.
 */
export async function whoami(ctx: Ctx) {
  const caller = requireKind(ctx.principal, 'organization', 'agent');
  const agentId = caller.kind === 'agent' ? caller.agentId : null;
  const { rows } = await ctx.db.execute<{ name: string; agent: Record<string, unknown> | null }>(sql`
    SELECT o.name, (SELECT to_jsonb(a) FROM agents a WHERE a.id = ${agentId} AND a.organization_id = o.id) AS agent
    FROM (SELECT ${authorizedSql(caller)}) AS caller(live)
    JOIN organizations o ON o.id = ${caller.organizationId} AND caller.live`);
  const [row] = rows;
  if (!row) throw fail.notFound('organization', caller.organizationId);
  return {
    kind: caller.kind,
    organization: { id: caller.organizationId, name: row.name },
    agent: row.agent ? directoryEntryView(rowFromJson(agents, row.agent)) : null,
  };
}
