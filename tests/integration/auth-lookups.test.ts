import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, createOrganization, startTestStack, type TestStack } from '../helpers/stack';

// An isolate looks a key up on its first request; requests of a new key that arrive together
// share that one lookup, and its answer, refusal included.

let stack: TestStack;
let orgKey: string;

beforeAll(async () => {
  stack = await startTestStack({}, { ownEdge: true });
  orgKey = (await createOrganization(stack)).apiKey;
});
afterAll(() => stack?.stop());

const inboxReads = (token: string, count: number) =>
  Promise.all(Array.from({ length: count }, () => stack.call('GET', '/v1/inbox', { token })));

describe('the first requests of a key', () => {
  it('that come together make one lookup between them', async () => {
    const agent = await createAgent(stack, orgKey, { name: 'fresh' });
    const before = stack.edgeStats().allRoundTrips;
    const reads = await inboxReads(agent.token, 20);
    expect(reads.map((read) => read.status)).toEqual(Array(20).fill(200));
    // Each read is one statement (the key checked inside it), plus the one lookup.
    expect(stack.edgeStats().allRoundTrips - before).toBe(21);
  });

  it('that come together with a revoked key are all refused', async () => {
    const agent = await createAgent(stack, orgKey, { name: 'revoked' });
    expect((await stack.call('DELETE', `/v1/agents/${agent.id}`, { token: orgKey })).status).toBe(200);
    const reads = await inboxReads(agent.token, 10);
    expect(reads.map((read) => read.status)).toEqual(Array(10).fill(401));
    for (const read of reads) expect(read.body.code).toBe('unauthorized');
  });
});
