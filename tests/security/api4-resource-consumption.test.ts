import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readyMeeting } from '../helpers/meetings';
import {
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

// OWASP API Security Top 10 (2023), API4: Unrestricted Resource Consumption. Every credential has
// a budget of requests (the Workers rate limiting binding, miniflare's locally); every request is
// bounded: page sizes, fan-out, invitees, body size, long-poll waits.

describe('API4: rate limits per credential', () => {
  let stack: TestStack;
  let orgKey: string;
  let alice: TestAgent;
  let bob: TestAgent;
  beforeAll(async () => {
    // Small budgets, so that a test can spend them: 20 per agent token, 15 per organization key.
    stack = await startTestStack({}, { rateLimits: { agent: 20, organization: 15 } });
    orgKey = (await createOrganization(stack, 'Budgeted')).apiKey;
    alice = await createAgent(stack, orgKey, { name: 'alice' });
    bob = await createAgent(stack, orgKey, { name: 'bob' });
  });
  afterAll(() => stack?.stop());

  it("an agent token over its budget gets 429 rate_limited with Retry-After and RateLimit headers; another agent's budget is its own", async () => {
    const answers = [];
    for (let i = 0; i < 25; i++) answers.push(await stack.call('GET', '/v1/inbox', { token: alice.token }));
    const statuses = answers.map((a) => a.status);
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(200));
    expect(statuses.slice(20)).toEqual(Array(5).fill(429));
    const refused = answers[24];
    expect(refused?.body).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(refused?.headers.get('content-type')).toContain('application/problem+json');
    expect(refused?.headers.get('retry-after')).toBe('60');
    expect(refused?.headers.get('ratelimit-policy')).toBe('"agent";q=20;w=60');
    expect(refused?.headers.get('ratelimit')).toBe('"agent";r=0;t=60');
    expect(answers[0]?.headers.get('ratelimit-policy')).toBe('"agent";q=20;w=60');
    // Refused requests did nothing: a refused send stores no message.
    const send = await stack.call('POST', '/v1/messages', {
      token: alice.token,
      body: { to: bob.id, content: 'x' },
    });
    expect(send.status).toBe(429);
    const { rows } = await stack.sql.query('SELECT count(*)::int AS n FROM messages WHERE sender_id = $1', [
      alice.id,
    ]);
    expect(rows[0].n).toBe(0);
    // bob and the MCP endpoint count per credential too.
    expect((await stack.call('GET', '/v1/inbox', { token: bob.token })).status).toBe(200);
    const mcp = await stack.call('POST', '/mcp', {
      token: alice.token,
      body: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      headers: { accept: 'application/json, text/event-stream' },
    });
    expect(mcp.status).toBe(429);
  });

  it('an organization key has its own budget', async () => {
    const fresh = (await createOrganization(stack, 'Fresh')).apiKey;
    const answers = [];
    for (let i = 0; i < 17; i++) answers.push(await stack.call('GET', '/v1/agents', { token: fresh }));
    expect(answers.map((a) => a.status)).toEqual([...Array(15).fill(200), 429, 429]);
    expect(answers[16]?.headers.get('ratelimit-policy')).toBe('"organization";q=15;w=60');
    // Another organization's key was not held back by this one.
    expect((await stack.call('GET', '/v1/agents', { token: orgKey })).status).toBe(200);
  });

  it('the OpenAPI document says every authenticated route may answer 429', async () => {
    const document = (await stack.call('GET', '/openapi.json')).body;
    for (const [path, methods] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, operation] of Object.entries(methods)) {
        expect(operation.responses, `${method} ${path}`).toHaveProperty(['429']);
      }
    }
  });
});

describe('API4: every request is bounded', () => {
  let stack: TestStack;
  let orgKey: string;
  let alice: TestAgent;
  let bob: TestAgent;
  beforeAll(async () => {
    stack = await startTestStack({ MAX_BODY_BYTES: '32768', MAX_STREAMS: '3', STREAM_LIFETIME_MS: '2000' });
    orgKey = (await createOrganization(stack, 'Bounded')).apiKey;
    alice = await createAgent(stack, orgKey, { name: 'alice' });
    bob = await createAgent(stack, orgKey, { name: 'bob' });
  });
  afterAll(() => stack?.stop());

  const refused = async (method: string, path: string, token: string, body?: unknown) => {
    const response = await stack.call(method, path, { token, body });
    return [response.status, response.body?.code];
  };

  it('page sizes, fan-out, invitees, acknowledgements and waits have ceilings', async () => {
    const invalid = [400, 'validation_failed'];
    expect(await refused('GET', '/v1/inbox?limit=201', alice.token)).toEqual(invalid);
    expect(await refused('GET', '/v1/messages?limit=201', alice.token)).toEqual(invalid);
    expect(await refused('GET', '/v1/messages/search?q=x&limit=51', alice.token)).toEqual(invalid);
    expect(await refused('GET', '/v1/agents?limit=201', orgKey)).toEqual(invalid);
    expect(await refused('GET', '/v1/sessions?limit=201', alice.token)).toEqual(invalid);
    expect(await refused('GET', '/v1/meetings?limit=201', alice.token)).toEqual(invalid);
    expect(await refused('GET', '/v1/inbox?waitMs=30001', alice.token)).toEqual(invalid);
    const meetingId = await readyMeeting(stack, alice, [bob]);
    expect(await refused('GET', `/v1/meetings/${meetingId}/events?waitMs=30001`, alice.token)).toEqual(
      invalid,
    );
    expect(await refused('GET', `/v1/meetings/${meetingId}/events?limit=501`, alice.token)).toEqual(invalid);
    expect(await refused('GET', `/v1/meetings/${meetingId}/messages?limit=501`, alice.token)).toEqual(
      invalid,
    );
    const many = (n: number) => Array.from({ length: n }, () => bob.id);
    expect(await refused('POST', '/v1/messages', alice.token, { to: many(101), content: 'x' })).toEqual(
      invalid,
    );
    expect(
      await refused('POST', '/v1/meetings', alice.token, {
        title: 't',
        participantIds: many(501),
        turnDurationMs: 1000,
      }),
    ).toEqual(invalid);
    expect(
      await refused('POST', `/v1/meetings/${meetingId}/invite`, alice.token, { agentIds: many(501) }),
    ).toEqual(invalid);
    expect(
      await refused('POST', '/v1/inbox/ack', bob.token, {
        messageIds: Array.from({ length: 501 }, () => 'msg_01jd6s5v1xe8rb8xgsnq8mq2gx'),
      }),
    ).toEqual(invalid);
  });

  it('a body over MAX_BODY_BYTES is 413 payload_too_large, and nothing is stored', async () => {
    expect(
      await refused('POST', '/v1/messages', alice.token, { to: bob.id, content: 'x'.repeat(40_000) }),
    ).toEqual([413, 'payload_too_large']);
    const { rows } = await stack.sql.query('SELECT count(*)::int AS n FROM messages WHERE sender_id = $1', [
      alice.id,
    ]);
    expect(rows[0].n).toBe(0);
  });

  it('an agent holds at most MAX_STREAMS event streams at once; closing one frees its place', {
    timeout: 40_000,
  }, async () => {
    const meetingId = await readyMeeting(stack, alice, [bob]);
    const open = async (agent: TestAgent, meeting = meetingId) => {
      const controller = new AbortController();
      const response = await fetch(`${stack.apiUrl}/v1/meetings/${meeting}/events`, {
        headers: { authorization: `Bearer ${agent.token}`, accept: 'text/event-stream' },
        signal: controller.signal,
      });
      return { response, close: () => controller.abort() };
    };
    const streams = [];
    for (let i = 0; i < 3; i++) streams.push(await open(alice));
    expect(streams.map((s) => s.response.status)).toEqual([200, 200, 200]);
    const fourth = await open(alice);
    expect(fourth.response.status).toBe(429);
    expect(((await fourth.response.json()) as { code: string }).code).toBe('too_many_streams');
    // bob's streams are his own.
    const bobs = await open(bob);
    expect(bobs.response.status).toBe(200);
    bobs.close();
    // The meeting ends: its streams close and give their leases back; another stream may open.
    expect((await stack.call('POST', `/v1/meetings/${meetingId}/end`, { token: alice.token })).status).toBe(
      200,
    );
    await Promise.all(streams.map((stream) => stream.response.text()));
    const other = await readyMeeting(stack, alice, [bob]);
    const again = await eventually(async () => {
      const attempt = await open(alice, other);
      if (attempt.response.status === 200) return attempt;
      await attempt.response.body?.cancel();
      return undefined;
    });
    again.close();
  });

  it('an event stream lives STREAM_LIFETIME_MS, then closes; the client resumes with Last-Event-ID', async () => {
    const meetingId = await readyMeeting(stack, alice, [bob]);
    const started = Date.now();
    const response = await fetch(`${stack.apiUrl}/v1/meetings/${meetingId}/events`, {
      headers: { authorization: `Bearer ${alice.token}`, accept: 'text/event-stream' },
    });
    const text = await response.text(); // ends when the server closes the stream
    const lived = Date.now() - started;
    expect(lived).toBeGreaterThanOrEqual(1_900);
    expect(lived).toBeLessThan(10_000);
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids.length).toBeGreaterThan(0);
    const resumed = await fetch(`${stack.apiUrl}/v1/meetings/${meetingId}/events?waitMs=0`, {
      headers: { authorization: `Bearer ${alice.token}`, 'last-event-id': String(ids.at(-1)) },
    });
    expect(resumed.status).toBe(200);
  });
});
