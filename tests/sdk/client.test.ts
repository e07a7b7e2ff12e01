import {
  AgentMessaging,
  AgentMessagingError,
  AgentNotFoundError,
  AuthError,
  IdempotencyConflictError,
  NetworkError,
  ServerError,
  ValidationError,
} from '@agent-messaging/sdk';
import { describe, expect, it } from 'vitest';

/** A client whose fetch always answers `response` (or runs `fetch` when it is a function). */
function clientAnswering(response: Response | typeof fetch, timeoutMs?: number) {
  return new AgentMessaging({
    baseUrl: 'https://api.example',
    token: 'am_org_test',
    fetch: typeof response === 'function' ? response : async () => response,
    ...(timeoutMs && { timeoutMs }),
  });
}

const problemResponse = (status: number, code: string, extra: object = {}) =>
  new Response(
    JSON.stringify({
      type: `urn:agent-messaging:problem:${code}`,
      title: 'T',
      status,
      detail: 'D',
      code,
      ...extra,
    }),
    { status, headers: { 'content-type': 'application/problem+json' } },
  );

describe('AgentMessaging: failed calls become typed errors', () => {
  it('parses a problem+json answer', async () => {
    const client = clientAnswering(problemResponse(404, 'agent_not_found'));
    const error = await client.agents.get('agt_missing').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentNotFoundError);
    expect(error).toMatchObject({ status: 404, code: 'agent_not_found', detail: 'D', message: 'T: D' });
  });

  it.each([
    [401, 'unauthorized', AuthError],
    [409, 'idempotency_conflict', IdempotencyConflictError],
    [400, 'validation_failed', ValidationError],
  ] as const)('%i %s from messages.send', async (status, code, ErrorClass) => {
    const client = clientAnswering(problemResponse(status, code));
    await expect(client.messages.send('agt_b', 'hi', { idempotencyKey: 'k1' })).rejects.toBeInstanceOf(
      ErrorClass,
    );
  });

  it('gives validation details', async () => {
    const errors = [{ path: 'name', message: 'Required' }];
    const client = clientAnswering(problemResponse(400, 'validation_failed', { errors }));
    const error = (await client.organizations
      .create({ name: '' })
      .catch((e: unknown) => e)) as ValidationError;
    expect(error.problem?.errors).toEqual(errors);
  });

  it('turns an answer that is not a problem into an error by status', async () => {
    const client = clientAnswering(new Response('<html>Bad gateway</html>', { status: 502 }));
    const error = await client.messages.get('msg_1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ status: 502, code: 'http_502' });
  });

  it('refuses a successful answer that is not JSON', async () => {
    const client = clientAnswering(new Response('ok', { status: 200 }));
    const error = await client.agents.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentMessagingError);
    expect(error).toMatchObject({ status: 200, code: 'invalid_response' });
  });

  it('turns a failed fetch into a NetworkError with the cause', async () => {
    const cause = new TypeError('fetch failed');
    const client = clientAnswering(async () => {
      throw cause;
    });
    const error = await client.agents.rotate('agt_1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ code: 'network_error', cause });
  });

  it('gives up after timeoutMs with a NetworkError', async () => {
    const hanging: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    const client = clientAnswering(hanging, 20);
    await expect(client.agents.get('agt_1')).rejects.toBeInstanceOf(NetworkError);
  });

  it("stops a call in flight when the caller's signal aborts", async () => {
    const hanging: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    const stop = new AbortController();
    const events = clientAnswering(hanging).meetings.events('mtg_1', { signal: stop.signal });
    const next = events.next();
    setTimeout(() => stop.abort(), 20);
    // The iterator ends (it was stopped), well before the client's 30 s timeout.
    expect(await next).toEqual({ done: true, value: undefined });
  });
});
