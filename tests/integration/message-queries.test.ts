import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createOrganization,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

// What was sent and received: listings with filters and cursors, counts, acknowledging by sender.

let stack: TestStack;
let orgKey: string;
let otherOrgKey: string;
let alice: TestAgent;
let bob: TestAgent;
let carol: TestAgent;
let stranger: TestAgent;
const startedAt = new Date().toISOString();

const send = async (from: TestAgent, to: string, content: unknown, metadata?: Record<string, unknown>) => {
  const sent = await stack.call('POST', '/v1/messages', {
    token: from.token,
    body: { to, content, ...(metadata && { metadata }) },
  });
  if (sent.status !== 202) throw new Error(`send: ${sent.status} ${JSON.stringify(sent.body)}`);
  return sent.body.message.id as string;
};
const list = (token: string, query: string) => stack.call('GET', `/v1/messages?${query}`, { token });
const count = async (token: string, query: string) => {
  const counted = await stack.call('GET', `/v1/messages/count?${query}`, { token });
  expect(counted.status).toBe(200);
  return counted.body.count as number;
};

/** Every page of a listing, following nextCursor; checks no page but the last is short. */
async function allPages(token: string, query: string, limit: number) {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page: any = await list(token, `${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.status).toBe(200);
    ids.push(...page.body.messages.map((m: { id: string }) => m.id));
    cursor = page.body.nextCursor;
    if (!cursor) return ids;
    expect(page.body.messages).toHaveLength(limit);
  }
}

const sentIds: string[] = [];
const billingIds: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack, 'Acme')).apiKey;
  otherOrgKey = (await createOrganization(stack, 'Globex')).apiKey;
  alice = await createAgent(stack, orgKey, { name: 'alice', externalId: 'alice' });
  bob = await createAgent(stack, orgKey, { name: 'bob', externalId: 'bob' });
  carol = await createAgent(stack, orgKey, { name: 'carol' });
  stranger = await createAgent(stack, otherOrgKey, { name: 'stranger', externalId: 'alice' });
  for (let i = 0; i < 5; i++) {
    const id = await send(
      alice,
      bob.id,
      `to bob ${i}`,
      i < 2 ? { topic: 'billing', n: i } : { topic: 'other' },
    );
    sentIds.push(id);
    if (i < 2) billingIds.push(id);
  }
  for (let i = 0; i < 3; i++) sentIds.push(await send(alice, carol.id, `to carol ${i}`));
  await send(bob, alice.id, 'from bob 0');
  await send(bob, alice.id, 'from bob 1');
  await send(stranger, stranger.id, 'elsewhere');
});
afterAll(() => stack?.stop());

describe('GET /v1/messages', () => {
  it('lists what an agent sent, newest first, in full pages that follow each other', async () => {
    const ids = await allPages(alice.token, 'direction=sent', 3);
    expect(ids).toEqual([...sentIds].reverse());
    const first = await list(alice.token, 'direction=sent&limit=1');
    expect(first.body.messages[0]).toMatchObject({ from: alice.id, to: carol.id, content: 'to carol 2' });
  });

  it('filters by the other party (an id or ext: ref), direction, metadata, time and acknowledgement', async () => {
    expect(await allPages(alice.token, 'direction=sent&with=ext:bob', 2)).toHaveLength(5);
    expect(await allPages(alice.token, `with=${bob.id}`, 2)).toHaveLength(7);
    expect(await allPages(alice.token, 'direction=received', 10)).toHaveLength(2);
    const billing = encodeURIComponent(JSON.stringify({ topic: 'billing' }));
    expect((await allPages(alice.token, `metadata=${billing}`, 10)).sort()).toEqual([...billingIds].sort());
    expect(await allPages(alice.token, `until=${encodeURIComponent(startedAt)}`, 10)).toEqual([]);
    expect(
      await allPages(alice.token, `since=${encodeURIComponent(startedAt)}&direction=sent`, 10),
    ).toHaveLength(8);
    expect(await allPages(bob.token, 'direction=received&acknowledged=false', 10)).toHaveLength(5);
  });

  it('counts exactly what the listing lists', async () => {
    for (const query of [
      'direction=sent',
      'with=ext:bob',
      'direction=received',
      'direction=sent&with=ext:bob',
      'kind=user',
    ]) {
      expect(await count(alice.token, query)).toBe((await allPages(alice.token, query, 200)).length);
    }
    expect(await count(alice.token, 'direction=sent')).toBe(8);
  });

  it('the organization key lists any of its agents, or the whole organization; never another organization', async () => {
    expect(await allPages(orgKey, 'agentId=ext:alice&direction=sent', 3)).toEqual([...sentIds].reverse());
    expect(await count(orgKey, '')).toBe(10);
    expect(await count(otherOrgKey, '')).toBe(1);
    const foreign = await list(otherOrgKey, `agentId=${alice.id}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('agent_not_found');
    // The same external id in another organization is another agent.
    expect(await allPages(stranger.token, 'with=ext:alice', 10)).toHaveLength(1);
    const foreignPeer = await stack.call('GET', `/v1/messages/count?with=${alice.id}`, {
      token: stranger.token,
    });
    expect([foreignPeer.status, foreignPeer.body.code]).toEqual([404, 'agent_not_found']);
  });

  it('refuses what it cannot answer, with stable codes', async () => {
    const cases: [string, string, number, string][] = [
      [alice.token, `agentId=${bob.id}`, 403, 'forbidden'],
      [orgKey, 'direction=sent', 400, 'validation_failed'],
      [alice.token, 'metadata=%5B1%5D', 400, 'validation_failed'],
      [alice.token, 'metadata=nope', 400, 'validation_failed'],
      [alice.token, 'since=yesterday', 400, 'validation_failed'],
      [alice.token, 'with=ext:nobody', 404, 'agent_not_found'],
      ['am_agt_nope', 'direction=sent', 401, 'unauthorized'],
    ];
    for (const [token, query, status, code] of cases) {
      const listed = await list(token, query);
      expect([query, listed.status, listed.body.code]).toEqual([query, status, code]);
    }
  });
});

describe('GET /v1/messages?status=', () => {
  it("filters by the delivery's status: an inbox message is queued until acknowledged, then delivered", async () => {
    const [firstToCarol] = sentIds.slice(5);
    const queued = await allPages(orgKey, `agentId=${carol.id}&direction=received&status=queued`, 2);
    expect(queued).toEqual(sentIds.slice(5).reverse());
    await stack.call('POST', '/v1/inbox/ack', { token: carol.token, body: { messageIds: [firstToCarol] } });
    expect(await allPages(carol.token, 'status=delivered', 10)).toEqual([firstToCarol]);
    expect(await count(carol.token, 'status=queued')).toBe(2);
    expect(await count(carol.token, 'status=dead')).toBe(0);
    const bad = await list(carol.token, 'status=lost');
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_failed']);
  });
});

describe('POST /v1/inbox/ack {from}', () => {
  it("acknowledges every message from one agent and answers how many; others' stay", async () => {
    await send(carol, bob.id, 'from carol');
    const acked = await stack.call('POST', '/v1/inbox/ack', {
      token: bob.token,
      body: { from: 'ext:alice' },
    });
    expect(acked.status).toBe(200);
    expect(acked.body.count).toBe(5);
    expect(acked.body.acknowledged).toHaveLength(5);
    expect(await count(bob.token, 'direction=received&acknowledged=false')).toBe(1);
    const again = await stack.call('POST', '/v1/inbox/ack', { token: bob.token, body: { from: alice.id } });
    expect(again.body).toEqual({ acknowledged: [], count: 0 });
    const empty = await stack.call('POST', '/v1/inbox/ack', { token: bob.token, body: {} });
    expect(empty.status).toBe(400);
  });
});
