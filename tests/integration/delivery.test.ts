import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ReceivedRequest, startEndpoint } from '../helpers/endpoint';
import {
  createAgent,
  createOrganization,
  eventually,
  insertUndispatched,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

let stack: TestStack;
let orgKey: string;
let sender: TestAgent;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack)).apiKey;
  sender = await createAgent(stack, orgKey, { name: 'sender' });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(() => stack?.stop());

/** An agent whose endpoint is a real local HTTP server answering as `respond` says. */
async function agentWithEndpoint(respond?: Parameters<typeof startEndpoint>[0]) {
  const endpoint = await startEndpoint(respond);
  cleanups.push(endpoint.close);
  const agent = await createAgent(stack, orgKey, { name: 'receiver', endpointUrl: endpoint.url });
  return { agent, endpoint };
}

async function send(to: string, content: unknown) {
  const { status, body } = await stack.call('POST', '/v1/messages', {
    token: sender.token,
    body: { to, content },
  });
  expect(status).toBe(202);
  return body.message.id as string;
}

const readMessage = async (id: string) =>
  (await stack.call('GET', `/v1/messages/${id}`, { token: orgKey })).body;

/** Fires the sweeper until the message's delivery reaches `status`. */
async function sweepUntil(messageId: string, status: string) {
  return eventually(async () => {
    await stack.sweep();
    const read = await readMessage(messageId);
    return read.message.status === status && read;
  });
}

describe('delivery to an endpoint', () => {
  it('POSTs a signed message with Standard Webhooks headers, and a 2xx acknowledges it', async () => {
    const { agent, endpoint } = await agentWithEndpoint();
    const messageId = await send(agent.id, { text: 'hello' });
    const request = await eventually(async () => endpoint.received[0]);

    const verified = new Webhook(agent.signingSecret).verify(request.raw, request.headers) as Record<
      string,
      any
    >;
    expect(verified).toMatchObject({
      type: 'message',
      agentId: agent.id,
      deliveryId: request.headers['webhook-id'],
      message: { id: messageId, from: sender.id, to: agent.id, content: { text: 'hello' } },
    });
    expect(() => new Webhook(sender.signingSecret).verify(request.raw, request.headers)).toThrow();

    const read = await eventually(async () => {
      const body = await readMessage(messageId);
      return body.message.status === 'delivered' && body;
    });
    expect(read.message.acknowledgedAt).not.toBeNull();
    expect(read.delivery).toMatchObject({
      id: request.headers['webhook-id'],
      status: 'delivered',
      attempts: 1,
    });
    expect(read.attempts).toEqual([
      expect.objectContaining({ attempt: 1, responseStatus: 200, error: null }),
    ]);
  });

  it('retries a flaky endpoint with backoff and delivers once, with one webhook-id across attempts', async () => {
    const { agent, endpoint } = await agentWithEndpoint((_request, index) =>
      index < 2 ? new Response('not now', { status: 500 }) : Response.json({}),
    );
    const messageId = await send(agent.id, 'retry me');
    const read = await sweepUntil(messageId, 'delivered');

    expect(endpoint.received).toHaveLength(3);
    expect(new Set(endpoint.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(read.attempts.map((a: { responseStatus: number }) => a.responseStatus)).toEqual([500, 500, 200]);
    expect(read.attempts[0].error).toContain('500');
    // Backoff: each retry waited at least half its exponential step (base 50 ms in tests).
    const times = read.attempts.map((a: { at: string }) => Date.parse(a.at));
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(25);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(50);
  });

  it('gives up after the maximum attempts (dead), and redeliver re-drives it', async () => {
    let healthy = false;
    const { agent, endpoint } = await agentWithEndpoint(() =>
      healthy ? Response.json({}) : new Response('down', { status: 503 }),
    );
    const messageId = await send(agent.id, 'persistent');
    const dead = await sweepUntil(messageId, 'dead');
    expect(dead.attempts).toHaveLength(4);
    expect(dead.delivery.lastError).toContain('503');
    // Dead stays dead: the sweeper does not touch it again.
    await stack.sweep();
    expect(endpoint.received).toHaveLength(4);
    // It is still in the inbox for the agent to pull.
    expect(dead.message.acknowledgedAt).toBeNull();

    const notYours = await stack.call('POST', `/v1/messages/${messageId}/redeliver`, { token: sender.token });
    expect(notYours.status).toBe(403);

    healthy = true;
    const redriven = await stack.call('POST', `/v1/messages/${messageId}/redeliver`, { token: orgKey });
    expect(redriven.status).toBe(202);
    expect(redriven.body.message.status).toBe('queued');
    const delivered = await sweepUntil(messageId, 'delivered');
    expect(delivered.attempts).toHaveLength(5);
    expect(new Set(endpoint.received.map((r) => r.headers['webhook-id'])).size).toBe(1);

    const again = await stack.call('POST', `/v1/messages/${messageId}/redeliver`, { token: orgKey });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('not_dead');
  });

  it('counts no answer in time as a failed attempt', async () => {
    const { agent } = await agentWithEndpoint(async () => {
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      return Response.json({});
    });
    const messageId = await send(agent.id, 'slow');
    const read = await eventually(async () => {
      const body = await readMessage(messageId);
      return body.attempts.length > 0 && body;
    });
    expect(read.attempts[0]).toMatchObject({ responseStatus: null, error: 'no answer within 2000 ms' });
    expect(read.message.status).toBe('failed');
  });

  it('records an attempt that breaks on our side, retries it until dead, and still delivers the rest of its batch', async () => {
    const broken = await agentWithEndpoint();
    const healthy = await agentWithEndpoint();
    // A signing secret that no longer decrypts (as after a change of ENCRYPTION_KEY).
    await stack.sql.query(`UPDATE agents SET signing_secret_encrypted = 'v1.garbage' WHERE id = $1`, [
      broken.agent.id,
    ]);
    const sent = await stack.call('POST', '/v1/messages', {
      token: sender.token,
      body: { to: [broken.agent.id, healthy.agent.id], content: 'fan-out' },
    });
    const [toBroken, toHealthy] = sent.body.messages.map((m: { id: string }) => m.id);
    await eventually(async () => (await readMessage(toHealthy)).message.status === 'delivered');
    const dead = await sweepUntil(toBroken, 'dead');
    expect(broken.endpoint.received).toHaveLength(0);
    expect(dead.attempts).toHaveLength(4);
    // What broke stays in the logs: the attempt only says it was on our side.
    expect(dead.attempts.map((a: { error: string }) => a.error)).toEqual(
      Array(4).fill('internal error while delivering'),
    );
    expect(healthy.endpoint.received).toHaveLength(1);
  });

  it('410 Gone disables the endpoint until its URL is set again', async () => {
    const { agent, endpoint } = await agentWithEndpoint(() => new Response(null, { status: 410 }));
    const first = await send(agent.id, 'one');
    await eventually(async () => (await readMessage(first)).message.status === 'dead');
    const read = await stack.call('GET', `/v1/agents/${agent.id}`, { token: orgKey });
    expect(read.body.agent.endpointDisabled).toBe(true);

    const second = await send(agent.id, 'two');
    expect((await readMessage(second)).delivery).toBeNull();
    expect(endpoint.received).toHaveLength(1);

    const patched = await stack.call('PATCH', `/v1/agents/${agent.id}`, {
      token: orgKey,
      body: { endpointUrl: endpoint.url },
    });
    expect(patched.body.agent.endpointDisabled).toBe(false);
  });
});

describe('the sweeper', () => {
  it('delivers what the api never handed to the dispatcher', async () => {
    const { agent, endpoint } = await agentWithEndpoint();
    const [row] = await insertUndispatched(stack, sender.id, agent.id, { orphan: true });
    expect(endpoint.received).toHaveLength(0);
    await stack.sweep();
    expect(endpoint.received.map((r) => r.headers['webhook-id'])).toEqual([row?.id]);
    expect((await readMessage(row?.message_id as string)).message.status).toBe('delivered');
  });

  it('two sweeps at once never make the same attempt twice', async () => {
    const { agent, endpoint } = await agentWithEndpoint(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return Response.json({});
    });
    const rows = await insertUndispatched(stack, sender.id, agent.id, 'many', 60);
    await Promise.all([stack.sweep(), stack.sweep(), stack.sweep()]);
    await eventually(async () => {
      await stack.sweep();
      return endpoint.received.length >= 60;
    });
    const ids = endpoint.received.map((r: ReceivedRequest) => r.headers['webhook-id']);
    expect(ids.sort()).toEqual(rows.map((r) => r.id).sort());
    const { rows: attempts } = await stack.sql.query(
      'SELECT max(attempt)::int AS max, count(*)::int AS n FROM delivery_attempts WHERE delivery_id = ANY($1)',
      [rows.map((r) => r.id)],
    );
    expect(attempts[0]).toEqual({ max: 1, n: 60 });
  });

  it('delivers a send whose api invocation died after commit, mid-push, once its claim lease is over', async () => {
    let hang = true;
    const { agent, endpoint } = await agentWithEndpoint(async () => {
      // The first push never gets an answer: its invocation dies waiting.
      if (hang) await new Promise(() => {});
      return Response.json({});
    });
    const messageId = await send(agent.id, 'survives');
    await eventually(async () => endpoint.received.length === 1);
    await stack.restart();
    hang = false;
    const read = await sweepUntil(messageId, 'delivered');
    expect(endpoint.received).toHaveLength(2);
    const [first, second] = endpoint.received as [ReceivedRequest, ReceivedRequest];
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    // Inserted already claimed (attempt 1, leased for the delivery timeout and 5 s): nobody took
    // it again before the lease ended.
    expect(second.at - first.at).toBeGreaterThanOrEqual(2_000 + 5_000 - 50);
    // The dead invocation recorded nothing; the sweeper's attempt is the second.
    expect(read.delivery).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(read.attempts.map((a: { attempt: number }) => a.attempt)).toEqual([2]);
  }, 30_000);

  it('takes back a claim whose dispatcher died once its lease is over', async () => {
    const { agent, endpoint } = await agentWithEndpoint();
    const [row] = await insertUndispatched(stack, sender.id, agent.id, 'lease');
    // A dispatcher claimed attempt 1 (lease in the future) and died.
    await stack.sql.query(
      `UPDATE deliveries SET attempts = 1, next_attempt_at = now() + interval '1 hour' WHERE id = $1`,
      [row?.id],
    );
    await stack.sweep();
    expect(endpoint.received).toHaveLength(0);
    await stack.sql.query(`UPDATE deliveries SET next_attempt_at = now() WHERE id = $1`, [row?.id]);
    await stack.sweep();
    expect(endpoint.received).toHaveLength(1);
    const read = await readMessage(row?.message_id as string);
    expect(read.delivery).toMatchObject({ status: 'delivered', attempts: 2 });
  });
});
