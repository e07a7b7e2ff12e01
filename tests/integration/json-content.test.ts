import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createAgent,
  createOrganization,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

let stack: TestStack;
let alice: TestAgent;
let bob: TestAgent;

beforeAll(async () => {
  stack = await startTestStack();
  const orgKey = (await createOrganization(stack)).apiKey;
  alice = await createAgent(stack, orgKey, { name: 'alice' });
  bob = await createAgent(stack, orgKey, { name: 'bob' });
});
afterAll(() => stack?.stop());

it('content and metadata come back as sent, strings that look like JSON included', async () => {
  const contents = ['42', 'true', 'null', '{"a":1}', '[1]', 'plain', 42, null, { nested: '7' }];
  for (const content of contents) {
    const sent = await stack.call('POST', '/v1/conversations/async', {
      token: alice.token,
      body: { to: bob.id, content, metadata: { tag: '{"b":2}' } },
    });
    expect(sent.status).toBe(202);
  }
  const inbox = (await stack.call('GET', '/v1/inbox?limit=50', { token: bob.token })).body.messages;
  expect(inbox.map((m: { content: unknown }) => m.content)).toEqual(contents);
  expect(
    inbox.every((m: { metadata: unknown }) => JSON.stringify(m.metadata) === '{"tag":"{\\"b\\":2}"}'),
  ).toBe(true);
  const history = (
    await stack.call('GET', `/v1/conversations/${alice.id}/messages?limit=50`, { token: bob.token })
  ).body.messages;
  expect(history.map((m: { content: unknown }) => m.content)).toEqual(contents);
  const one = (await stack.call('GET', `/v1/messages/${inbox[0].id}`, { token: bob.token })).body;
  expect(one.message.content).toBe('42');
});
