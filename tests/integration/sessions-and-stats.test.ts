import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEndpoint } from '../helpers/endpoint';
import { meetingApi, readyMeeting } from '../helpers/meetings';
import {
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

// Looking into conversations: an agent's sessions, one session's counts and messages, and an
// agent's activity in figures.

let stack: TestStack;
let orgKey: string;
let otherOrgKey: string;
let alice: TestAgent;
let bob: TestAgent;
let carol: TestAgent;
let stranger: TestAgent;
let bobSession: string;
let carolSession: string;

const asyncSend = async (from: TestAgent, to: TestAgent, content: unknown) => {
  const sent = await stack.call('POST', '/v1/conversations/async', {
    token: from.token,
    body: { to: to.id, content },
  });
  if (sent.status !== 202) throw new Error(`async: ${sent.status}`);
  return sent.body as { message: { id: string }; sessionId: string };
};
const get = (path: string, token: string) => stack.call('GET', path, { token });

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack, 'Acme')).apiKey;
  otherOrgKey = (await createOrganization(stack, 'Globex')).apiKey;
  alice = await createAgent(stack, orgKey, { name: 'alice', externalId: 'alice' });
  bob = await createAgent(stack, orgKey, { name: 'bob', externalId: 'bob' });
  carol = await createAgent(stack, orgKey, { name: 'carol' });
  stranger = await createAgent(stack, otherOrgKey, { name: 'stranger' });
  for (let i = 0; i < 3; i++) bobSession = (await asyncSend(alice, bob, `a->b ${i}`)).sessionId;
  for (let i = 0; i < 2; i++) await asyncSend(bob, alice, `b->a ${i}`);
  carolSession = (await asyncSend(alice, carol, 'a->c')).sessionId;
  const ended = await stack.call('POST', `/v1/sessions/${carolSession}/end`, { token: carol.token });
  if (ended.status !== 200) throw new Error(`end: ${ended.status}`);
});
afterAll(() => stack?.stop());

describe('sessions', () => {
  it('lists the caller sessions newest first, with the peer, filtered by status and peer', async () => {
    const all = await get('/v1/sessions', alice.token);
    expect(all.status).toBe(200);
    expect(all.body.sessions.map((s: { id: string; peerId: string }) => [s.id, s.peerId])).toEqual([
      [carolSession, carol.id],
      [bobSession, bob.id],
    ]);
    expect(all.body.sessions[0]).toMatchObject({ status: 'ended', endedBy: carol.id, waiterId: null });
    const ended = await get('/v1/sessions?status=ended', alice.token);
    expect(ended.body.sessions.map((s: { id: string }) => s.id)).toEqual([carolSession]);
    const withBob = await get('/v1/sessions?with=ext:bob', alice.token);
    expect(withBob.body.sessions.map((s: { id: string }) => s.id)).toEqual([bobSession]);
    const page = await get('/v1/sessions?limit=1', alice.token);
    const next = await get(`/v1/sessions?limit=1&cursor=${page.body.nextCursor}`, alice.token);
    expect([...page.body.sessions, ...next.body.sessions].map((s: { id: string }) => s.id)).toEqual([
      carolSession,
      bobSession,
    ]);
    expect(next.body.nextCursor).toBeNull();
    expect((await get('/v1/sessions', carol.token)).body.sessions).toHaveLength(1);
  });

  it("the organization key lists its organization's sessions, or one agent's; never another's", async () => {
    const all = await get('/v1/sessions', orgKey);
    expect(all.body.sessions.map((s: { id: string; peerId: string | null }) => [s.id, s.peerId])).toEqual([
      [carolSession, null],
      [bobSession, null],
    ]);
    const bobs = await get('/v1/sessions?agentId=ext:bob', orgKey);
    expect(bobs.body.sessions.map((s: { id: string; peerId: string }) => [s.id, s.peerId])).toEqual([
      [bobSession, alice.id],
    ]);
    expect((await get('/v1/sessions', otherOrgKey)).body.sessions).toEqual([]);
    const foreign = await get(`/v1/sessions?agentId=${bob.id}`, otherOrgKey);
    expect([foreign.status, foreign.body.code]).toEqual([404, 'agent_not_found']);
    const notForAgents = await get(`/v1/sessions?agentId=${bob.id}`, alice.token);
    expect([notForAgents.status, notForAgents.body.code]).toEqual([403, 'forbidden']);
  });

  it('one session counts its messages exactly, per side, and what each has not acknowledged', async () => {
    const read = await get(`/v1/sessions/${bobSession}`, alice.token);
    expect(read.status).toBe(200);
    const side = (body: any, id: string) =>
      body.counts.bySide.find((counts: { agentId: string }) => counts.agentId === id);
    expect(read.body.counts).toMatchObject({ messages: 5, unacknowledged: 5 });
    expect(side(read.body, alice.id)).toEqual({ agentId: alice.id, sent: 3, unacknowledged: 2 });
    expect(side(read.body, bob.id)).toEqual({ agentId: bob.id, sent: 2, unacknowledged: 3 });
    const inbox = await get('/v1/inbox?from=ext:alice', bob.token);
    await stack.call('POST', '/v1/inbox/ack', {
      token: bob.token,
      body: { messageIds: [inbox.body.messages[0].id] },
    });
    const after = await get(`/v1/sessions/${bobSession}`, orgKey);
    expect(after.status).toBe(200);
    expect(side(after.body, bob.id)).toEqual({ agentId: bob.id, sent: 2, unacknowledged: 2 });
    expect(after.body.counts.unacknowledged).toBe(4);
  });

  it("pages through a session's messages in order", async () => {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: any = await get(
        `/v1/sessions/${bobSession}/messages?limit=2${after ? `&after=${after}` : ''}`,
        bob.token,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.messages.map((m: { content: string }) => m.content));
      after = page.body.nextCursor;
    } while (after);
    expect(seen).toEqual(['a->b 0', 'a->b 1', 'a->b 2', 'b->a 0', 'b->a 1']);
  });

  it("a wait past its deadline is over when read, and another's session is not found", async () => {
    const { rows } = await stack.sql.query(
      `UPDATE sessions SET status = 'waiting', pending_request_id = $2, waiter_id = $3,
              wait_deadline = now() - interval '1 second'
       WHERE id = $1 RETURNING id`,
      [
        bobSession,
        (await get(`/v1/sessions/${bobSession}/messages?limit=1`, alice.token)).body.messages[0].id,
        alice.id,
      ],
    );
    expect(rows).toHaveLength(1);
    const read = await get(`/v1/sessions/${bobSession}`, bob.token);
    expect(read.body.session).toMatchObject({ status: 'active', waiterId: null, pendingRequestId: null });
    expect(read.body.counts.messages).toBe(6); // the timeout message

    for (const [token, path] of [
      [carol.token, `/v1/sessions/${bobSession}`],
      [stranger.token, `/v1/sessions/${bobSession}`],
      [otherOrgKey, `/v1/sessions/${bobSession}`],
      [stranger.token, `/v1/sessions/${bobSession}/messages`],
    ] as const) {
      const refused = await get(path, token);
      expect([path, refused.status, refused.body.code]).toEqual([path, 404, 'session_not_found']);
    }
  });
});

describe('GET /v1/agents/{id}/stats', () => {
  it("counts an agent's sessions, messages, partners, meetings and turns, exactly", async () => {
    const meeting = meetingApi(stack, await readyMeeting(stack, alice, [bob], { turnDurationMs: 500 }));
    await meeting.act(alice, 'start');
    await meeting.speak(bob, 'my turn');
    await new Promise((resolve) => setTimeout(resolve, 600));
    await meeting.get(alice); // applies alice's overdue turn
    await meeting.act(alice, 'end');

    const stats = await get('/v1/agents/ext:alice/stats', orgKey);
    expect(stats.status).toBe(200);
    expect(stats.body).toEqual({
      agentId: alice.id,
      sessions: { total: 2, open: 1 },
      // Sent: 3 to bob, 1 to carol and the meeting's ending message. Received: 2 from bob, carol's
      // ending message and the timeout of the wait expired above, which comes acknowledged.
      messages: { sent: 5, received: 4, unacknowledged: 3 },
      partners: 2,
      meetings: { hosted: 1, attended: 1 },
      turns: { taken: 0, timedOut: 1 },
      // No endpoint: nothing pushed.
      deliveries: { delivered: 0, pending: 0, dead: 0, lastDeliveredAt: null, lastFailure: null },
    });
    const bobs = await get(`/v1/agents/${bob.id}/stats`, bob.token);
    expect(bobs.body.turns).toEqual({ taken: 1, timedOut: 0 });
    expect(bobs.body.meetings).toEqual({ hosted: 0, attended: 1 });

    expect((await get(`/v1/agents/${alice.id}/stats`, bob.token)).status).toBe(403);
    const foreign = await get(`/v1/agents/${alice.id}/stats`, otherOrgKey);
    expect([foreign.status, foreign.body.code]).toEqual([404, 'agent_not_found']);
  });

  it("reports the endpoint's health: delivered, pending, dead, the last delivery and the last failure", async () => {
    let failing = true;
    const endpoint = await startEndpoint(() =>
      failing ? new Response('down', { status: 503 }) : Response.json({}),
    );
    try {
      const pushed = await createAgent(stack, orgKey, { name: 'pushed', endpointUrl: endpoint.url });
      const send = (content: string) =>
        stack.call('POST', '/v1/messages', { token: alice.token, body: { to: pushed.id, content } });
      await send('one');
      // Every attempt fails: the sweeper retries until the delivery is dead (4 attempts here).
      await eventually(async () => {
        await stack.sweep();
        return (await get(`/v1/agents/${pushed.id}/stats`, orgKey)).body.deliveries.dead === 1;
      });
      failing = false;
      await send('two');
      const health = await eventually(async () => {
        const { deliveries } = (await get(`/v1/agents/${pushed.id}/stats`, pushed.token)).body;
        return deliveries.delivered === 1 ? deliveries : undefined;
      });
      expect(health).toMatchObject({ delivered: 1, pending: 0, dead: 1, lastFailure: { status: 503 } });
      expect(Date.parse(health.lastDeliveredAt)).toBeGreaterThan(Date.parse(health.lastFailure.at));
    } finally {
      await endpoint.close();
    }
  });
});
