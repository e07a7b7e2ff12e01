import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** The body both pipelines push: the service's delivery payload, which the peer imitates. */
interface Pushed {
  type: string;
  message?: { content?: unknown };
}

/**
 * An agent's endpoint as a user would run it, for the peer and the service alike: verifies each
 * Standard Webhooks signature (401 otherwise), counts unique `webhook-id`s, notes when each
 * bench sequence number (`content.seq`) first arrived, and answers a sync request inline with
 * `{reply}`.
 */
export interface Endpoint {
  url: string;
  /** The signing secret to verify with; set once the agent it belongs to exists. */
  secret: string;
  /** Unique webhook-ids received with a valid signature. */
  delivered: () => number;
  /** performance.now() of the first valid receipt, by `content.seq`. */
  receivedAt: Map<number, number>;
  /** POSTs refused for a missing or wrong signature. */
  rejected: () => number;
  /** Resolves true once `count` unique webhook-ids were received, false after `timeoutMs`. */
  waitFor: (count: number, timeoutMs: number) => Promise<boolean>;
  /** Forgets what was received (between phases). */
  reset: () => void;
  close: () => Promise<void>;
}

/** A request's body as text. */
export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startEndpoint(secret = ''): Promise<Endpoint> {
  const ids = new Set<string>();
  const receivedAt = new Map<number, number>();
  let rejected = 0;
  let waiters: { count: number; resolve: () => void }[] = [];

  const endpoint: Endpoint = {
    url: '',
    secret,
    delivered: () => ids.size,
    receivedAt,
    rejected: () => rejected,
    waitFor: (count, timeoutMs) =>
      new Promise((resolve) => {
        if (ids.size >= count) return resolve(true);
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          resolve(false);
        }, timeoutMs);
        const waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(true);
          },
        };
        waiters.push(waiter);
      }),
    reset: () => {
      ids.clear();
      receivedAt.clear();
      rejected = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  const server = createServer(async (request, response) => {
    const raw = await readBody(request);
    const now = performance.now();
    let body: Pushed;
    try {
      body = new Webhook(endpoint.secret).verify(raw, request.headers as Record<string, string>) as Pushed;
    } catch {
      rejected++;
      response.writeHead(401).end();
      return;
    }
    ids.add(String(request.headers['webhook-id']));
    const seq = (body.message?.content as { seq?: unknown } | undefined)?.seq;
    if (typeof seq === 'number' && !receivedAt.has(seq)) receivedAt.set(seq, now);
    const done = waiters.filter((w) => ids.size >= w.count);
    waiters = waiters.filter((w) => ids.size < w.count);
    for (const waiter of done) waiter.resolve();
    const answer = body.type === 'sync_request' ? { reply: body.message?.content } : {};
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
  // Senders keep connections alive across pushes, as they would to a real endpoint.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return endpoint;
}
