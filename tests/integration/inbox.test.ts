import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createOrganization,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

let stack: TestStack;
let orgKey: string;

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack)).apiKey;
});
afterAll(() => stack?.stop());

const agent = (name: string) => createAgent(stack, orgKey, { name });
const sendAsync = (from: TestAgent, to: string, content: unknown) =>
  stack.call('POST', '/v1/conversations/async', { token: from.token, body: { to, content } });
const inbox = (who: TestAgent, query = '') => stack.call('GET', `/v1/inbox${query}`, { token: who.token });
const ack = (who: TestAgent, messageIds: string[]) =>
  stack.call('POST', '/v1/inbox/ack', { token: who.token, body: { messageIds } });

describe('async conversations and the inbox', () => {
  it('keeps messages until acknowledged: reading twice gives the same, ack removes them', async () => {
    const a = await agent('a');
    const b = await agent('b');
    const first = await sendAsync(a, b.id, 'one');
    expect(first.status).toBe(202);
    expect(first.body.sessionId).toMatch(/^ses_/);
    const second = await sendAsync(a, b.id, 'two');
    expect(second.body.sessionId).toBe(first.body.sessionId);

    const read1 = await inbox(b);
    const read2 = await inbox(b);
    expect(read1.body.messages.map((m: { content: string }) => m.content)).toEqual(['one', 'two']);
    expect(read2.body).toEqual(read1.body);

    const acked = await ack(b, [first.body.message.id]);
    expect(acked.body.acknowledged).toEqual([first.body.message.id]);
    expect((await inbox(b)).body.messages.map((m: { content: string }) => m.content)).toEqual(['two']);
    // Acknowledging again changes nothing.
    expect((await ack(b, [first.body.message.id])).body.acknowledged).toEqual([]);
  });

  it('filters by sender and limits, oldest first', async () => {
    const a = await agent('a');
    const c = await agent('c');
    const b = await agent('b');
    for (const [from, text] of [
      [a, 'a1'],
      [c, 'c1'],
      [a, 'a2'],
      [a, 'a3'],
    ] as const)
      await sendAsync(from, b.id, text);
    const fromA = await inbox(b, `?from=${a.id}&limit=2`);
    expect(fromA.body.messages.map((m: { content: string }) => m.content)).toEqual(['a1', 'a2']);
  });

  it('an agent cannot acknowledge, and so never touches, messages of another agent', async () => {
    const a = await agent('a');
    const b = await agent('b');
    const mallory = await agent('mallory');
    const sent = await sendAsync(a, b.id, 'for b only');
    const attempt = await ack(mallory, [sent.body.message.id]);
    expect(attempt.status).toBe(200);
    expect(attempt.body.acknowledged).toEqual([]);
    expect((await inbox(b)).body.messages).toHaveLength(1);
    // Another organization's agent neither.
    const outsiderKey = (await createOrganization(stack, 'Other')).apiKey;
    const outsider = await createAgent(stack, outsiderKey, { name: 'outsider' });
    expect((await ack(outsider, [sent.body.message.id])).body.acknowledged).toEqual([]);
    expect((await inbox(outsider)).body.messages).toEqual([]);
    expect((await sendAsync(outsider, b.id, 'x')).status).toBe(404);
  });

  it('the inbox is for agents: the organization key gets 403', async () => {
    expect((await stack.call('GET', '/v1/inbox', { token: orgKey })).status).toBe(403);
  });

  it('long-poll returns promptly when a message arrives', async () => {
    const a = await agent('a');
    const b = await agent('b');
    const started = Date.now();
    const waiting = inbox(b, '?waitMs=10000');
    setTimeout(() => void sendAsync(a, b.id, 'wake up'), 300);
    const { body } = await waiting;
    const elapsed = Date.now() - started;
    expect(body.messages.map((m: { content: string }) => m.content)).toEqual(['wake up']);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('long-poll answers at once when the inbox already holds something, and empty at waitMs', async () => {
    const a = await agent('a');
    const b = await agent('b');
    const emptyStart = Date.now();
    const empty = await inbox(b, '?waitMs=600');
    expect(empty.body.messages).toEqual([]);
    expect(Date.now() - emptyStart).toBeGreaterThanOrEqual(550);

    await sendAsync(a, b.id, 'stored');
    const storedStart = Date.now();
    const stored = await inbox(b, '?waitMs=10000');
    expect(stored.body.messages).toHaveLength(1);
    expect(Date.now() - storedStart).toBeLessThan(5_000);
  });

  it('pages the history with one agent in order, both directions', async () => {
    const a = await agent('a');
    const b = await agent('b');
    const other = await agent('other');
    for (let i = 0; i < 5; i++) await sendAsync(i % 2 ? b : a, i % 2 ? a.id : b.id, i);
    await sendAsync(other, a.id, 'unrelated');
    await stack.call('POST', '/v1/messages', { token: a.token, body: { to: b.id, content: 'one-way' } });
    const latest = await stack.call('GET', `/v1/conversations/${b.id}/messages?limit=4`, { token: a.token });
    expect(latest.body.messages.map((m: { content: unknown }) => m.content)).toEqual([2, 3, 4, 'one-way']);
    const earlier = await stack.call(
      'GET',
      `/v1/conversations/${b.id}/messages?limit=4&before=${latest.body.nextCursor}`,
      {
        token: a.token,
      },
    );
    expect(earlier.body.messages.map((m: { content: unknown }) => m.content)).toEqual([0, 1]);
    expect(earlier.body.nextCursor).toBeNull();
    // The same history seen from b.
    const fromB = await stack.call('GET', `/v1/conversations/${a.id}/messages`, { token: b.token });
    expect(fromB.body.messages).toHaveLength(6);
  });

  it('history with an agent of another organization is 404', async () => {
    const a = await agent('a');
    const outsiderKey = (await createOrganization(stack, 'Elsewhere')).apiKey;
    const outsider = await createAgent(stack, outsiderKey, { name: 'outsider' });
    const response = await stack.call('GET', `/v1/conversations/${outsider.id}/messages`, { token: a.token });
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('agent_not_found');
  });

  it('content and metadata come back as sent, strings that look like JSON included', async () => {
    const a = await agent('json-a');
    const b = await agent('json-b');
    const contents = ['42', 'true', 'null', '{"a":1}', '[1]', 'plain', 42, null, { nested: '7' }];
    for (const content of contents) {
      const sent = await stack.call('POST', '/v1/conversations/async', {
        token: a.token,
        body: { to: b.id, content, metadata: { tag: '{"b":2}' } },
      });
      expect(sent.status).toBe(202);
    }
    const read = (await inbox(b, '?limit=50')).body.messages;
    expect(read.map((m: { content: unknown }) => m.content)).toEqual(contents);
    expect(
      read.every((m: { metadata: unknown }) => JSON.stringify(m.metadata) === '{"tag":"{\\"b\\":2}"}'),
    ).toBe(true);
    const history = (
      await stack.call('GET', `/v1/conversations/${a.id}/messages?limit=50`, { token: b.token })
    ).body.messages;
    expect(history.map((m: { content: unknown }) => m.content)).toEqual(contents);
    const one = (await stack.call('GET', `/v1/messages/${read[0].id}`, { token: b.token })).body;
    expect(one.message.content).toBe('42');
  });
});
