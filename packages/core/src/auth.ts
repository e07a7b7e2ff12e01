import { and, eq, isNull, sql } from 'drizzle-orm';
import { constantTimeEqual, sha256Hex } from './crypto';
import type { Queryable } from './db';
import type { Config } from './env';
import { fail } from './errors';
import { until } from './poll';
import { agents, apiKeys } from './schema';

/** Who a key belongs to: facts that never change for a key (only whether it is live does). */
type KeyIdentity =
  | { kind: 'organization'; organizationId: string; keyId: string }
  | { kind: 'agent'; organizationId: string; agentId: string; keyId: string };

/**
 * `keyHash` identifies the key in statements that check it themselves; `verified` says whether
 * this request has already seen the key live in the database.
 */
export type Principal = { kind: 'admin' } | (KeyIdentity & { keyHash: string; verified: boolean });

export type PrincipalKind = Principal['kind'];

/**
 * Keys this isolate has seen, by hash: who they belong to, never whether they are live, so a
 * revoked key is refused at once everywhere (it is checked in the database on every request).
 */
const identities = new Map<string, KeyIdentity>();
const MAX_IDENTITIES = 10_000;

function remember(hash: string, identity: KeyIdentity) {
  if (identities.size >= MAX_IDENTITIES) identities.delete(identities.keys().next().value as string);
  identities.set(hash, identity);
}

const adminHashes = new Map<string, Promise<string>>();

/** The admin token's hash, once per isolate. */
function adminHash(adminToken: string): Promise<string> {
  let hash = adminHashes.get(adminToken);
  if (!hash) {
    hash = sha256Hex(adminToken);
    adminHashes.set(adminToken, hash);
  }
  return hash;
}

/** Looks the key up, live keys only: the first request of a key in this isolate. */
async function lookUp(db: Queryable, hash: string): Promise<KeyIdentity> {
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

/**
 * Resolves `Authorization: Bearer <token>` to who is calling; any doubt is a 401. A key this
 * isolate has seen costs no query here: it comes back unverified, for the operation to check
 * (`verifyPrincipal`, or `am_authorized` inside its own statement).
 */
export async function identify(
  db: Queryable,
  config: Pick<Config, 'ADMIN_TOKEN'>,
  authorization: string | undefined,
): Promise<Principal> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const token = match?.[1];
  if (!token) throw fail.unauthorized();
  const hash = await sha256Hex(token);

  if (constantTimeEqual(hash, await adminHash(config.ADMIN_TOKEN))) return { kind: 'admin' };
  if (!token.startsWith('am_org_') && !token.startsWith('am_agt_')) throw fail.unauthorized('Unknown token.');

  const known = identities.get(hash);
  if (known) return { ...known, keyHash: hash, verified: false };
  return { ...(await lookUpOnce(db, hash)), keyHash: hash, verified: true };
}

/** Lookups in flight by hash, so the first requests of a key that come together make one query. */
const lookups = new Map<string, Promise<KeyIdentity>>();
/** How long a request waits on another's lookup (whose invocation may be cut off) before its own. */
const LOOKUP_WAIT_MS = 5_000;

async function lookUpOnce(db: Queryable, hash: string): Promise<KeyIdentity> {
  const inFlight = lookups.get(hash);
  if (inFlight) {
    // A lookup made during this request answers it, refusal included; no answer in time: look alone.
    const shared = await until(inFlight, Date.now() + LOOKUP_WAIT_MS);
    if (shared !== 'timeout') return shared;
  }
  const lookup = lookUp(db, hash);
  lookups.set(hash, lookup);
  try {
    const identity = await lookup;
    remember(hash, identity);
    return identity;
  } finally {
    if (lookups.get(hash) === lookup) lookups.delete(hash);
  }
}

/** What a credential's budgets (requests, streams) are counted under: its agent, or its organization key. */
export function credentialKey(principal: Exclude<Principal, { kind: 'admin' }>): string {
  return principal.kind === 'agent'
    ? `agent:${principal.agentId}`
    : `organization:${principal.organizationId}`;
}

/** SQL that is true when the caller's key is live and raises `unauthorized` otherwise (migration 0003). */
export function authorizedSql(principal: Exclude<Principal, { kind: 'admin' }>) {
  return sql`am_authorized(${principal.keyHash})`;
}

/** Checks an unverified principal's key in the database (one light query); a dead key is 401. */
export async function verifyPrincipal(db: Queryable, principal: Principal): Promise<void> {
  if (principal.kind === 'admin' || principal.verified) return;
  await db.execute(sql`SELECT ${authorizedSql(principal)}`);
  principal.verified = true;
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
