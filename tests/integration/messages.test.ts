import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  createAgent,
  createOrganization,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

let stack: TestStack;
let orgKey: string;
let alice: TestAgent;
let bob: TestAgent;
let carol: TestAgent;
let outsider: TestAgent;
let outsiderOrgKey: string;

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack, 'Acme')).apiKey;
  alice = await createAgent(stack, orgKey, { name: 'alice' });
  bob = await createAgent(stack, orgKey, { name: 'bob' });
  carol = await createAgent(stack, orgKey, { name: 'carol' });
  outsiderOrgKey = (await createOrganization(stack, 'Globex')).apiKey;
  outsider = await createAgent(stack, outsiderOrgKey, { name: 'mallory' });
});
afterAll(() => stack?.stop());

const send = (token: string, body: unknown, headers: Record<string, string> = {}) =>
  stack.call('POST', '/v1/messages', { token, body, headers });

describe('one-way messages', () => {
  it('stores a message for one recipient and answers 202', async () => {
    const { status, body } = await send(alice.token, {
      to: bob.id,
      content: { text: 'hi' },
      metadata: { topic: 'greeting' },
    });
    expect(status).toBe(202);
    expect(body.message).toMatchObject({
      kind: 'user',
      from: alice.id,
      to: bob.id,
      content: { text: 'hi' },
      metadata: { topic: 'greeting' },
      status: 'queued',
      sessionId: null,
      meetingId: null,
    });
    expect(body.message.id).toMatch(/^msg_/);
    // Bob has no endpoint: no push delivery, the message waits in his inbox.
    const { rows } = await stack.sql.query(
      'SELECT count(*)::int AS n FROM deliveries WHERE message_id = $1',
      [body.message.id],
    );
    expect(rows[0].n).toBe(0);
  });

  it('accepts any JSON value as content', async () => {
    for (const content of ['text', 42, [1, 'two'], null, true]) {
      const { status, body } = await send(alice.token, { to: bob.id, content });
      expect(status).toBe(202);
      expect(body.message.content).toEqual(content);
    }
  });

  it('fans out to a list: one message per recipient', async () => {
    const { status, body } = await send(alice.token, { to: [bob.id, carol.id], content: 'all hands' });
    expect(status).toBe(202);
    expect(body.messages.map((m: { to: string }) => m.to)).toEqual([bob.id, carol.id]);
    expect(new Set(body.messages.map((m: { id: string }) => m.id)).size).toBe(2);
  });

  it('shows a message to its sender, its recipient and the organization key only', async () => {
    const { body } = await send(alice.token, { to: bob.id, content: 'private' });
    const path = `/v1/messages/${body.message.id}`;
    for (const token of [alice.token, bob.token, orgKey]) {
      const read = await stack.call('GET', path, { token });
      expect(read.status).toBe(200);
      expect(read.body.message.content).toBe('private');
      expect(read.body.attempts).toEqual([]);
    }
    for (const token of [carol.token, outsider.token, outsiderOrgKey]) {
      const read = await stack.call('GET', path, { token });
      expect(read.status).toBe(404);
      expect(read.body.code).toBe('message_not_found');
    }
    expect((await stack.call('GET', path, { token: ADMIN_TOKEN })).status).toBe(403);
    expect((await stack.call('GET', path)).status).toBe(401);
  });
});

describe('one-way messages: refusals leave nothing behind', () => {
  const count = async () => (await stack.sql.query('SELECT count(*)::int AS n FROM messages')).rows[0].n;

  it.each([
    ['missing content', () => ({ to: bob.id }), 400, 'validation_failed'],
    ['bad recipient id', () => ({ to: 'bob', content: 1 }), 400, 'validation_failed'],
    ['empty list', () => ({ to: [], content: 1 }), 400, 'validation_failed'],
    ['unknown field', () => ({ to: bob.id, content: 1, priority: 'high' }), 400, 'validation_failed'],
    [
      'unknown recipient',
      () => ({ to: 'agt_01jd6s5v1xe8rb8xgsnq8mq2gx', content: 1 }),
      404,
      'agent_not_found',
    ],
    ['recipient in another organization', () => ({ to: outsider.id, content: 1 }), 404, 'agent_not_found'],
    ['one unknown in a list', () => ({ to: [bob.id, outsider.id], content: 1 }), 404, 'agent_not_found'],
  ] as const)('%s', async (_name, body, status, code) => {
    const before = await count();
    const response = await send(alice.token, body());
    expect(response.status).toBe(status);
    expect(response.body.code).toBe(code);
    expect(await count()).toBe(before);
  });

  it('refuses a deactivated recipient with 409 agent_inactive', async () => {
    const gone = await createAgent(stack, orgKey, { name: 'gone' });
    await stack.call('DELETE', `/v1/agents/${gone.id}`, { token: orgKey });
    const response = await send(alice.token, { to: gone.id, content: 1 });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('agent_inactive');
  });

  it('refuses a body over the size limit with 413', async () => {
    const response = await send(alice.token, { to: bob.id, content: 'x'.repeat(300 * 1024) });
    expect(response.status).toBe(413);
    expect(response.body.code).toBe('payload_too_large');
  });

  it('only agents send: organization key and admin get 403', async () => {
    for (const token of [orgKey, ADMIN_TOKEN]) {
      const response = await send(token, { to: bob.id, content: 1 });
      expect(response.status).toBe(403);
      expect(response.body.code).toBe('forbidden');
    }
  });
});

describe('Idempotency-Key', () => {
  it('same key and body: the same response, one message', async () => {
    const headers = { 'idempotency-key': 'order-42' };
    const first = await send(alice.token, { to: bob.id, content: { order: 42 } }, headers);
    const second = await send(alice.token, { content: { order: 42 }, to: bob.id }, headers);
    expect(second.status).toBe(202);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const { rows } = await stack.sql.query(
      `SELECT count(*)::int AS n FROM messages WHERE content = '{"order": 42}'`,
    );
    expect(rows[0].n).toBe(1);
  });

  it('same key, other body: 409 idempotency_conflict', async () => {
    const headers = { 'idempotency-key': 'order-43' };
    expect((await send(alice.token, { to: bob.id, content: 1 }, headers)).status).toBe(202);
    const other = await send(alice.token, { to: bob.id, content: 2 }, headers);
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('idempotency_conflict');
  });

  it('concurrent requests with one key create one message', async () => {
    const headers = { 'idempotency-key': 'burst' };
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => send(alice.token, { to: bob.id, content: 'burst' }, headers)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(202));
    expect(new Set(responses.map((r) => r.body.message.id)).size).toBe(1);
    const { rows } = await stack.sql.query(
      `SELECT count(*)::int AS n FROM messages WHERE content = '"burst"'`,
    );
    expect(rows[0].n).toBe(1);
  });

  it('keys belong to the caller: another agent may use the same key', async () => {
    const headers = { 'idempotency-key': 'shared-key' };
    const a = await send(alice.token, { to: bob.id, content: 'a' }, headers);
    const c = await send(carol.token, { to: bob.id, content: 'c' }, headers);
    expect(c.status).toBe(202);
    expect(c.body.message.id).not.toBe(a.body.message.id);
  });

  it('keys are kept 24 hours: the sweeper forgets older ones, and the key can be used afresh', async () => {
    const headers = { 'idempotency-key': 'yesterday' };
    const first = await send(alice.token, { to: bob.id, content: 'old' }, headers);
    await stack.sql.query(
      "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'yesterday'",
    );
    await stack.sweep();
    const { rows } = await stack.sql.query(
      "SELECT count(*)::int AS n FROM idempotency_keys WHERE key = 'yesterday'",
    );
    expect(rows[0].n).toBe(0);
    const again = await send(alice.token, { to: bob.id, content: 'new' }, headers);
    expect(again.status).toBe(202);
    expect(again.body.message.id).not.toBe(first.body.message.id);
  });
});
