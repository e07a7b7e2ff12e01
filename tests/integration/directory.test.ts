import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createOrganization,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

// Agents find each other: the directory an agent token may read, and `ext:<externalId>` wherever
// the API takes an agent id.

let stack: TestStack;
let orgKey: string;
let alice: TestAgent;
let bob: TestAgent;
let carol: TestAgent;
let outsider: TestAgent;

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack, 'Acme')).apiKey;
  const otherKey = (await createOrganization(stack, 'Globex')).apiKey;
  alice = await createAgent(stack, orgKey, { name: 'Alice', externalId: 'alice' });
  bob = await createAgent(stack, orgKey, {
    name: 'Bob the billing bot',
    externalId: 'bob',
    endpointUrl: 'http://127.0.0.1:9/hook',
  });
  carol = await createAgent(stack, orgKey, { name: 'Carol', externalId: 'carol' });
  // Another organization uses the same external ids.
  outsider = await createAgent(stack, otherKey, { name: 'Bob elsewhere', externalId: 'bob' });
});
afterAll(() => stack?.stop());

const get = (path: string, token: string) => stack.call('GET', path, { token });

describe('the directory', () => {
  it('an agent token sees its peers without their endpoints; the organization key sees everything', async () => {
    const seen = await get('/v1/agents?limit=200', alice.token);
    expect(seen.status).toBe(200);
    const entryOfBob = seen.body.agents.find((a: { id: string }) => a.id === bob.id);
    expect(entryOfBob).toEqual({
      id: bob.id,
      externalId: 'bob',
      name: 'Bob the billing bot',
      description: null,
      metadata: {},
      status: 'active',
      endpoint: true,
    });
    expect(seen.body.agents.find((a: { id: string }) => a.id === carol.id).endpoint).toBe(false);
    expect(JSON.stringify(seen.body)).not.toContain('127.0.0.1');
    expect(seen.body.agents.map((a: { id: string }) => a.id)).not.toContain(outsider.id);

    const full = await get(`/v1/agents?externalId=bob`, orgKey);
    expect(full.body.agents).toHaveLength(1);
    expect(full.body.agents[0]).toMatchObject({ id: bob.id, endpointUrl: 'http://127.0.0.1:9/hook' });
  });

  it('finds by external id or by text, and pages through with no gap or repeat', async () => {
    expect((await get('/v1/agents?externalId=carol', alice.token)).body.agents.map((a: any) => a.id)).toEqual(
      [carol.id],
    );
    expect((await get('/v1/agents?externalId=nobody', alice.token)).body.agents).toEqual([]);
    const byText = await get(`/v1/agents?q=${encodeURIComponent('BILLING')}`, alice.token);
    expect(byText.body.agents.map((a: any) => a.id)).toEqual([bob.id]);
    // LIKE's wildcards in q are plain characters.
    expect((await get(`/v1/agents?q=${encodeURIComponent('%')}`, alice.token)).body.agents).toEqual([]);

    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await get(`/v1/agents?limit=2${cursor ? `&cursor=${cursor}` : ''}`, alice.token);
      expect(page.status).toBe(200);
      ids.push(...page.body.agents.map((a: { id: string }) => a.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(ids).toEqual([alice.id, bob.id, carol.id].sort());
  });
});

describe('ext:<externalId> names an agent of the caller organization', () => {
  it('in a send, a fan-out, an async send, a history path and an inbox filter', async () => {
    const one = await stack.call('POST', '/v1/messages', {
      token: alice.token,
      body: { to: 'ext:carol', content: 'hi carol' },
    });
    expect(one.status).toBe(202);
    expect(one.body.message.to).toBe(carol.id);

    const many = await stack.call('POST', '/v1/messages', {
      token: alice.token,
      body: { to: ['ext:carol', carol.id, 'ext:bob'], content: 'all' },
    });
    expect(many.status).toBe(202);
    // ext:carol and carol's id are one recipient.
    expect(many.body.messages.map((m: { to: string }) => m.to).sort()).toEqual([bob.id, carol.id].sort());

    const async = await stack.call('POST', '/v1/conversations/async', {
      token: carol.token,
      body: { to: 'ext:alice', content: 'async hi' },
    });
    expect(async.status).toBe(202);
    expect(async.body.message.to).toBe(alice.id);

    const history = await get('/v1/conversations/ext:carol/messages', alice.token);
    expect(history.status).toBe(200);
    expect(history.body.messages.map((m: { content: unknown }) => m.content)).toContain('async hi');

    const fromAlice = await get('/v1/inbox?from=ext:alice&limit=50', carol.token);
    expect(fromAlice.status).toBe(200);
    expect(fromAlice.body.messages.length).toBeGreaterThanOrEqual(2);
    expect(fromAlice.body.messages.every((m: { from: string }) => m.from === alice.id)).toBe(true);
  });

  it('in a meeting: its participants and those invited later', async () => {
    const created = await stack.call('POST', '/v1/meetings', {
      token: alice.token,
      body: { title: 'by external id', participantIds: ['ext:carol'], turnDurationMs: 60_000 },
    });
    expect(created.status).toBe(201);
    const invited = await stack.call('POST', `/v1/meetings/${created.body.meeting.id}/invite`, {
      token: alice.token,
      body: { agentIds: ['ext:bob'] },
    });
    expect(invited.status).toBe(200);
    expect(invited.body.meeting.participants.map((p: { agentId: string }) => p.agentId).sort()).toEqual(
      [alice.id, bob.id, carol.id].sort(),
    );
  });

  it("is 404 agent_not_found for an unknown external id, and for another organization's", async () => {
    for (const to of ['ext:nobody', 'ext:Bob']) {
      const sent = await stack.call('POST', '/v1/messages', {
        token: alice.token,
        body: { to, content: 'x' },
      });
      expect(sent.status).toBe(404);
      expect(sent.body).toMatchObject({ code: 'agent_not_found' });
      expect(sent.body.detail).toContain(to);
    }
    // The outsider's own external id names its own agent only: "bob" is someone else there.
    const fromOutside = await stack.call('POST', '/v1/messages', {
      token: outsider.token,
      body: { to: 'ext:carol', content: 'x' },
    });
    expect(fromOutside.status).toBe(404);
    const { rows } = await stack.sql.query('SELECT count(*)::int AS n FROM messages WHERE sender_id = $1', [
      outsider.id,
    ]);
    expect(rows[0].n).toBe(0);
  });

  it('is refused with 400 when malformed, and with 401 for a revoked token before anything is looked up', async () => {
    const malformed = await stack.call('POST', '/v1/messages', {
      token: alice.token,
      body: { to: 'ext:', content: 'x' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('validation_failed');

    const dave = await createAgent(stack, orgKey, { name: 'Dave' });
    // Seen once, so this isolate knows whose token it is; then revoked.
    expect((await get('/v1/inbox', dave.token)).status).toBe(200);
    expect((await stack.call('POST', `/v1/agents/${dave.id}/rotate`, { token: orgKey })).status).toBe(200);
    for (const to of ['ext:carol', 'ext:nobody']) {
      const sent = await stack.call('POST', '/v1/messages', {
        token: dave.token,
        body: { to, content: 'x' },
      });
      expect(sent.status).toBe(401);
    }
  });
});
