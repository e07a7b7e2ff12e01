import { encryptSecret, generateSigningSecret, generateToken, sha256Hex, tokenPrefix } from '../../crypto';
import type { Tx } from '../../db';
import { newId } from '../../ids';
import { apiKeys } from '../../schema';

/** A new agent token (stored as a hash) and signing secret (stored encrypted), shown once. */
export async function issueAgentCredentials(encryptionKey: string) {
  const token = generateToken('agt');
  const signingSecret = generateSigningSecret();
  return {
    token,
    signingSecret,
    tokenHash: await sha256Hex(token),
    signingSecretEncrypted: await encryptSecret(signingSecret, encryptionKey),
  };
}

export async function insertAgentKey(
  tx: Tx,
  organizationId: string,
  agentId: string,
  credentials: { token: string; tokenHash: string },
) {
  await tx.insert(apiKeys).values({
    id: newId('apiKey'),
    organizationId,
    agentId,
    kind: 'agent',
    prefix: tokenPrefix(credentials.token),
    hash: credentials.tokenHash,
  });
}
