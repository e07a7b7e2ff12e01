import { Webhook } from 'standardwebhooks';
import { decryptSecret } from '../../crypto';
import { checkEndpointUrl } from '../../endpoint-url';
import type { Config } from '../../env';
import type { Outcome, Target } from './target';

export type PushConfig = Pick<Config, 'DELIVERY_TIMEOUT_MS' | 'ALLOW_PRIVATE_ENDPOINTS' | 'ENCRYPTION_KEY'>;

const MAX_ANSWER_BYTES = 256 * 1024;
const decoder = new TextDecoder();

/**
 * Signers by sealed secret, so a busy agent's secret is not decrypted for every push; a rotation
 * seals a new secret, which is a new entry. Bounded: the oldest go first.
 */
const signers = new Map<string, Promise<Webhook>>();
const MAX_SIGNERS = 1000;

function signerFor(sealed: string, encryptionKey: string): Promise<Webhook> {
  let signer = signers.get(sealed);
  if (!signer) {
    if (signers.size >= MAX_SIGNERS) signers.delete(signers.keys().next().value as string);
    signer = decryptSecret(sealed, encryptionKey).then((secret) => new Webhook(secret));
    // A secret that does not decrypt is not kept: each attempt fails on its own.
    signer.catch(() => signers.delete(sealed));
    signers.set(sealed, signer);
  }
  return signer;
}

/** Why this delivery cannot be pushed at all, if it cannot. */
export function unpushable({ agent }: Target, allowPrivate: boolean): string | null {
  if (agent.status !== 'active') return 'agent is deactivated';
  if (!agent.endpointUrl) return 'agent has no endpoint; the message waits in its inbox';
  if (agent.endpointDisabledAt)
    return 'endpoint answered 410 Gone and is disabled until its URL is set again';
  try {
    checkEndpointUrl(agent.endpointUrl, allowPrivate);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The answer's text, cut off at MAX_ANSWER_BYTES so a hostile endpoint cannot exhaust memory. */
async function readAnswer(response: Response): Promise<string> {
  if (!response.body) return '';
  // A declared length within bounds (the usual answer) is read in one call, not chunk by chunk.
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared <= MAX_ANSWER_BYTES) return response.text();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader.cancel();
      break;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return decoder.decode(bytes);
}

/** POSTs the payload to the agent's endpoint, signed (Standard Webhooks, `webhook-id` = delivery id). */
export async function push(target: Target, payload: object, config: PushConfig): Promise<Outcome> {
  const url = target.agent.endpointUrl as string;
  const body = JSON.stringify(payload);
  const signer = await signerFor(target.agent.signingSecretEncrypted, config.ENCRYPTION_KEY);
  const sentAt = new Date();
  const signature = signer.sign(target.delivery.id, sentAt, body);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'AgentMessaging-Dispatcher/1',
        'webhook-id': target.delivery.id,
        'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
        'webhook-signature': signature,
      },
      body,
      // A redirect could lead anywhere, including our own network: it counts as a failure.
      redirect: 'manual',
      signal: AbortSignal.timeout(config.DELIVERY_TIMEOUT_MS),
    });
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    return {
      ok: false,
      final: false,
      responseStatus: null,
      error: timedOut
        ? `no answer within ${config.DELIVERY_TIMEOUT_MS} ms`
        : `request failed: ${(error as Error).message}`,
    };
  }
  if (response.ok) {
    // Only a sync request or a meeting turn can be answered; any other body goes unread.
    const answer = await readAnswer(response).catch(() => '');
    return { ok: true, final: true, responseStatus: response.status, error: null, answer };
  }
  await response.body?.cancel().catch(() => {});
  if (response.status === 410) {
    return { ok: false, final: true, responseStatus: 410, error: 'endpoint answered 410 Gone', gone: url };
  }
  return {
    ok: false,
    final: false,
    responseStatus: response.status,
    // Not the body: the sender can read attempts, and the body is the recipient's business.
    error: `endpoint answered ${response.status}`,
  };
}
