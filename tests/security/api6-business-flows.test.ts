import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meetingApi, readyMeeting } from '../helpers/meetings';
import {
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

// OWASP API Security Top 10 (2023), API6: Unrestricted Access to Sensitive Business Flows. The
// flows an abuser would automate or shortcut hold: nothing is done twice by retrying, a
// conversation is answered only by the one asked, a meeting is run only by its host and spoken in
// only in turn, a deactivated agent neither speaks nor is spoken to, a delivery is re-driven only
// when it is dead. (Volume is API4's: rate limits and bounds.)

let stack: TestStack;
let orgKey: string;
let alice: TestAgent;
let bob: TestAgent;
let carol: TestAgent;

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack, 'Flows')).apiKey;
  alice = await createAgent(stack, orgKey, { name: 'alice' });
  bob = await createAgent(stack, orgKey, { name: 'bob' });
  carol = await createAgent(stack, orgKey, { name: 'carol' });
});
afterAll(() => stack?.stop());

describe('API6: business flows', () => {
  it('a retried send with its Idempotency-Key is the same message; the key with another body is refused', async () => {
    const send = (content: string) =>
      stack.call('POST', '/v1/messages', {
        token: alice.token,
        headers: { 'idempotency-key': 'invoice-42' },
        body: { to: bob.id, content },
      });
    const first = await send('pay 100');
    const again = await send('pay 100');
    expect(again.body.message.id).toBe(first.body.message.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await send('pay 1000');
    expect([other.status, other.body.code]).toEqual([409, 'idempotency_conflict']);
    const { rows } = await stack.sql.query(
      "SELECT count(*)::int AS n FROM messages WHERE sender_id = $1 AND content::text LIKE '%pay%'",
      [alice.id],
    );
    expect(rows[0].n).toBe(1);
  });

  it('a request is answered by the agent asked, once: not by the asker, not by a third agent', async () => {
    const waiting = stack.call('POST', '/v1/conversations/sync', {
      token: alice.token,
      body: { to: bob.id, content: 'approve?', timeoutMs: 10_000 },
    });
    const request = await eventually(async () =>
      (await stack.call('GET', '/v1/inbox', { token: bob.token })).body.messages.find(
        (m: { content: unknown }) => m.content === 'approve?',
      ),
    );
    const self = await stack.call('POST', `/v1/sessions/${request.sessionId}/reply`, {
      token: alice.token,
      body: { content: 'approved' },
    });
    expect(self.status).toBeGreaterThanOrEqual(400);
    const third = await stack.call('POST', `/v1/sessions/${request.sessionId}/reply`, {
      token: carol.token,
      body: { content: 'approved' },
    });
    expect([third.status, third.body.code]).toEqual([404, 'session_not_found']);
    await stack.call('POST', `/v1/sessions/${request.sessionId}/reply`, {
      token: bob.token,
      body: { content: 'no' },
    });
    expect((await waiting).body.reply.content).toBe('no');
    const twice = await stack.call('POST', `/v1/sessions/${request.sessionId}/reply`, {
      token: bob.token,
      body: { content: 'yes after all', requestId: request.id },
    });
    expect([twice.status, twice.body.code]).toEqual([409, 'already_replied']);
  });

  it('only the host runs a meeting, and only the current speaker speaks', async () => {
    const meeting = meetingApi(stack, await readyMeeting(stack, alice, [bob, carol]));
    for (const action of ['start', 'end']) {
      const response = await meeting.act(bob, action);
      expect([response.status, response.body.code], action).toEqual([403, 'not_host']);
    }
    expect((await meeting.act(carol, 'invite', { agentIds: [carol.id] })).status).toBe(403);
    await meeting.act(alice, 'start');
    const outOfTurn = await meeting.speak(carol, 'me first');
    expect([outOfTurn.status, outOfTurn.body.code]).toEqual([409, 'not_your_turn']);
    const hostLeaves = await meeting.act(alice, 'leave');
    expect([hostLeaves.status, hostLeaves.body.code]).toEqual([409, 'host_cannot_leave']);
  });

  it('a deactivated agent is not spoken to, and its messages are not re-driven unless dead', async () => {
    const dave = await createAgent(stack, orgKey, { name: 'dave' });
    const sent = await stack.call('POST', '/v1/messages', {
      token: alice.token,
      body: { to: dave.id, content: 'hi' },
    });
    const notDead = await stack.call('POST', `/v1/messages/${sent.body.message.id}/redeliver`, {
      token: orgKey,
    });
    expect([notDead.status, notDead.body.code]).toEqual([409, 'not_dead']);
    await stack.call('DELETE', `/v1/agents/${dave.id}`, { token: orgKey });
    const toInactive = await stack.call('POST', '/v1/messages', {
      token: alice.token,
      body: { to: dave.id, content: 'hi' },
    });
    expect([toInactive.status, toInactive.body.code]).toEqual([409, 'agent_inactive']);
    expect((await stack.call('GET', '/v1/inbox', { token: dave.token })).status).toBe(401);
  });
});
