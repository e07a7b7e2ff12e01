import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';

export interface ReceivedRequest {
  /** When it arrived (ms since the epoch). */
  at: number;
  headers: Record<string, string>;
  body: any;
  raw: string;
}

/**
 * A real HTTP server on loopback acting as an agent's endpoint. `respond` decides each answer
 * (by default 200 {}); every request is recorded.
 */
export async function startEndpoint(
  respond: (request: ReceivedRequest, index: number) => Response | Promise<Response> = () =>
    Response.json({}),
) {
  const received: ReceivedRequest[] = [];
  const server = createAdaptorServer({
    fetch: async (request: Request) => {
      const raw = await request.text();
      const entry: ReceivedRequest = {
        at: Date.now(),
        headers: Object.fromEntries(request.headers),
        body: raw ? JSON.parse(raw) : null,
        raw,
      };
      received.push(entry);
      return respond(entry, received.length - 1);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Wraps a fetch handler (e.g. the SDK's createAgentHandler) as a real HTTP endpoint. */
export async function serveHandler(handler: (request: Request) => Promise<Response>) {
  const server = createAdaptorServer({ fetch: handler });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
