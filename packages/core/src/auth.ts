import { and, eq, isNull } from 'drizzle-orm';
import { constantTimeEqual, sha256Hex } from './crypto';
import type { Queryable } from './db';
import type { Config } from './env';
import { fail } from './errors';
import { agents, apiKeys } from './schema';

export type Principal =
  | { kind: 'admin' }
  | { kind: 'organization'; organizationId: string; keyId: string }
  | { kind: 'agent'; organizationId: string; agentId: string; keyId: string };

export type PrincipalKind = Principal['kind'];

/** Resolves `Authorization: Bearer <token>` to who is calling; any doubt is a 401. */
export async function authenticate(
  db: Queryable,
  config: Pick<Config, 'ADMIN_TOKEN'>,
  authorization: string | undefined,
): Promise<Principal> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const token = match?.[1];
  if (!token) throw fail.unauthorized();
  const hash = await sha256Hex(token);

  if (constantTimeEqual(hash, await sha256Hex(config.ADMIN_TOKEN))) return { kind: 'admin' };
  if (!token.startsWith('am_org_') && !token.startsWith('am_agt_')) throw fail.unauthorized('Unknown token.');

  // The lookup is by the hash of a high-entropy token, so timing reveals nothing about the token;
  // the hash is still compared in constant time before it is trusted.
  const [row] = await db
    .select({
      keyId: apiKeys.id,
      hash: apiKeys.hash,
      kind: apiKeys.kind,
      organizationId: apiKeys.organizationId,
      agentId: apiKeys.agentId,
      agentStatus: agents.status,
    })
    .from(apiKeys)
    .leftJoin(agents, eq(agents.id, apiKeys.agentId))
    .where(and(eq(apiKeys.hash, hash), isNull(apiKeys.revokedAt)))
    .limit(1);
  if (!row || !constantTimeEqual(row.hash, hash)) throw fail.unauthorized('Unknown or revoked token.');

  if (row.kind === 'organization') {
    return { kind: 'organization', organizationId: row.organizationId, keyId: row.keyId };
  }
  if (!row.agentId || row.agentStatus !== 'active') throw fail.unauthorized('Agent is deactivated.');
  return { kind: 'agent', organizationId: row.organizationId, agentId: row.agentId, keyId: row.keyId };
}

/** Narrows the principal to one of the allowed kinds, or 403. */
export function requireKind<K extends PrincipalKind>(
  principal: Principal,
  ...kinds: K[]
): Extract<Principal, { kind: K }> {
  if (!(kinds as PrincipalKind[]).includes(principal.kind)) {
    throw fail.forbidden(
      `This needs ${kinds.map((k) => (k === 'organization' ? 'an organization key' : `an ${k} token`)).join(' or ')}.`,
    );
  }
  return principal as Extract<Principal, { kind: K }>;
}
