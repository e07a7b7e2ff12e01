import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, meetingApi, readyMeeting } from '../helpers/meetings';
import {
  type CallResult,
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

// 100 concurrent requests at each contested point: exactly the outcomes the contract says.

const N = 100;
let stack: TestStack;
let orgKey: string;

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack, 'Racers')).apiKey;
});
afterAll(() => stack?.stop());

const times = <T>(n: number, make: (i: number) => Promise<T>) =>
  Promise.all(Array.from({ length: n }, (_, i) => make(i)));
/** How many answers had each status (and problem code). */
function tally(results: CallResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { status, body } of results) {
    const key = status < 300 ? String(status) : `${status} ${body?.code}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
const count = async (sql: string, params: unknown[]) =>
  (await stack.sql.query(sql, params)).rows[0].n as number;

async function two(names: [string, string]): Promise<[TestAgent, TestAgent]> {
  const [a, b] = await agents(stack, orgKey, names);
  if (!a || !b) throw new Error('agents');
  return [a, b];
}

describe(`races, ${N} at once`, () => {
  it('speak: the current speaker speaks 100 times at once; one speech is taken', async () => {
    const [host, bob] = await two(['host', 'bob']);
    const meeting = meetingApi(stack, await readyMeeting(stack, host, [bob]));
    await meeting.act(host, 'start');
    const results = await times(N, (i) => meeting.speak(bob, `speech ${i}`));
    expect(tally(results)).toEqual({ 200: 1, '409 not_your_turn': N - 1 });
    expect(
      await count("SELECT count(*)::int AS n FROM messages WHERE meeting_id = $1 AND kind = 'user'", [
        meeting.id,
      ]),
    ).toBe(1);
    expect((await meeting.get(host)).body.meeting).toMatchObject({
      turnNumber: 2,
      currentSpeakerId: host.id,
    });
  });

  it('reply: 100 replies to one pending request; one answers it, the waiting sender gets that one', async () => {
    const [asker, expert] = await two(['asker', 'expert']);
    const waiting = stack.call('POST', '/v1/conversations/sync', {
      token: asker.token,
      body: { to: expert.id, content: 'question', timeoutMs: 20_000 },
    });
    const request = await eventually(
      async () => (await stack.call('GET', '/v1/inbox', { token: expert.token })).body.messages[0],
    );
    const results = await times(N, (i) =>
      stack.call('POST', `/v1/sessions/${request.sessionId}/reply`, {
        token: expert.token,
        body: { content: `answer ${i}`, requestId: request.id },
      }),
    );
    const counts = tally(results);
    expect(counts[201]).toBe(1);
    expect((counts['409 already_replied'] ?? 0) + (counts['409 no_pending_request'] ?? 0)).toBe(N - 1);
    const winner = results.find((r) => r.status === 201)?.body.message;
    const answered = await waiting;
    expect(answered.status).toBe(200);
    expect(answered.body.reply.id).toBe(winner.id);
    expect(
      await count(
        "SELECT count(*)::int AS n FROM messages WHERE session_id = $1 AND sender_id = $2 AND kind = 'user'",
        [request.sessionId, expert.id],
      ),
    ).toBe(1);
  });

  it('sync send: one sender asks 100 agents at once; one request proceeds, the rest are agent_busy', async () => {
    const asker = await createAgent(stack, orgKey, { name: 'eager' });
    const targets = await agents(
      stack,
      orgKey,
      Array.from({ length: N }, (_, i) => `target${i}`),
    );
    const results = await Promise.all(
      targets.map((target) =>
        stack.call('POST', '/v1/conversations/sync', {
          token: asker.token,
          body: { to: target.id, content: 'busy?', timeoutMs: 1_000 },
        }),
      ),
    );
    expect(tally(results)).toEqual({ '504 timeout': 1, '409 agent_busy': N - 1 });
    expect(
      await count("SELECT count(*)::int AS n FROM messages WHERE sender_id = $1 AND kind = 'user'", [
        asker.id,
      ]),
    ).toBe(1);
  });

  it('ack: 100 acknowledgements of the same messages at once; each message is acknowledged once', async () => {
    const [sender, reader] = await two(['sender', 'reader']);
    const sent = await stack.call('POST', '/v1/messages', {
      token: sender.token,
      body: { to: Array.from({ length: 10 }, () => reader.id), content: 'x' },
    });
    const ids: string[] = sent.body.messages.map((m: { id: string }) => m.id);
    const results = await times(N, (i) =>
      stack.call('POST', '/v1/inbox/ack', {
        token: reader.token,
        body: i % 2 ? { messageIds: ids } : { from: sender.id },
      }),
    );
    expect(tally(results)).toEqual({ 200: N });
    const acknowledged = results.flatMap((r) => r.body.acknowledged as string[]);
    expect(acknowledged.sort()).toEqual([...ids].sort());
    expect(results.reduce((sum, r) => sum + r.body.count, 0)).toBe(ids.length);
    expect((await stack.call('GET', '/v1/inbox', { token: reader.token })).body.messages).toEqual([]);
  });

  it('rotate: 100 rotations at once; exactly one of the tokens handed out works', async () => {
    const agent = await createAgent(stack, orgKey, { name: 'spun' });
    const results = await times(N, () =>
      stack.call('POST', `/v1/agents/${agent.id}/rotate`, { token: orgKey }),
    );
    expect(tally(results)).toEqual({ 200: N });
    const works = await Promise.all(
      results.map(async (r) => (await stack.call('GET', '/v1/me', { token: r.body.token })).status === 200),
    );
    expect(works.filter(Boolean)).toHaveLength(1);
    expect((await stack.call('GET', '/v1/me', { token: agent.token })).status).toBe(401);
  });

  it('deactivate: 100 at once; the agent leaves its meeting once, every answer says deactivated', async () => {
    const [host, bob, carol] = await agents(stack, orgKey, ['host', 'bob', 'carol']);
    if (!host || !bob || !carol) throw new Error('agents');
    const meeting = meetingApi(stack, await readyMeeting(stack, host, [bob, carol]));
    await meeting.act(host, 'start');
    const results = await times(N, () => stack.call('DELETE', `/v1/agents/${bob.id}`, { token: orgKey }));
    expect(tally(results)).toEqual({ 200: N });
    for (const r of results) expect(r.body.agent.status).toBe('deactivated');
    expect(
      await count(
        "SELECT count(*)::int AS n FROM meeting_events WHERE meeting_id = $1 AND type = 'participant_left'",
        [meeting.id],
      ),
    ).toBe(1);
    expect((await meeting.get(host)).body.meeting).toMatchObject({
      status: 'active',
      currentSpeakerId: carol.id,
    });
  });

  it('end vs speak: the meeting ends once, and no speech lands after its end', async () => {
    const [host, bob] = await two(['host', 'bob']);
    const meeting = meetingApi(stack, await readyMeeting(stack, host, [bob]));
    await meeting.act(host, 'start');
    const results = await times(N, (i) =>
      i % 2 === 0 ? meeting.act(host, 'end') : meeting.speak(i % 4 === 1 ? bob : host, `speech ${i}`),
    );
    const ends = results.filter((_, i) => i % 2 === 0);
    const speeches = results.filter((_, i) => i % 2 === 1);
    expect(tally(ends)).toMatchObject({ 200: 1 });
    expect(tally(ends)['409 meeting_ended']).toBe(N / 2 - 1);
    for (const r of speeches.filter((r) => r.status !== 200)) {
      expect(['not_your_turn', 'meeting_ended', 'meeting_not_active']).toContain(r.body.code);
    }
    const { rows } = await stack.sql.query(
      'SELECT type, seq FROM meeting_events WHERE meeting_id = $1 ORDER BY seq',
      [meeting.id],
    );
    expect(rows.map((r: { seq: number }) => r.seq)).toEqual(rows.map((_: unknown, i: number) => i + 1));
    expect(rows.filter((r: { type: string }) => r.type === 'meeting_ended')).toHaveLength(1);
    expect(rows.at(-1).type).toBe('meeting_ended');
    const spoken = speeches.filter((r) => r.status === 200).length;
    expect(
      await count("SELECT count(*)::int AS n FROM messages WHERE meeting_id = $1 AND kind = 'user'", [
        meeting.id,
      ]),
    ).toBe(spoken);
  });

  it('attend vs start: invitees attend while the host starts; join orders stay distinct, the start is valid', async () => {
    const host = await createAgent(stack, orgKey, { name: 'host' });
    const invitees = await agents(
      stack,
      orgKey,
      Array.from({ length: N - 1 }, (_, i) => `guest${i}`),
    );
    const created = await stack.call('POST', '/v1/meetings', {
      token: host.token,
      body: { title: 'crowd', participantIds: invitees.map((a) => a.id), turnDurationMs: 60_000 },
    });
    const meeting = meetingApi(stack, created.body.meeting.id);
    const results = await Promise.all([
      ...invitees.map((guest) => meeting.act(guest, 'attend')),
      (async () => {
        // The host tries until the meeting is ready (someone attended), as a client would.
        for (;;) {
          const started = await meeting.act(host, 'start');
          if (started.body.code !== 'meeting_not_ready') return started;
        }
      })(),
    ]);
    expect(tally(results)).toEqual({ 200: N });
    const { participants, status, currentSpeakerId } = (await meeting.get(host)).body.meeting;
    expect(status).toBe('active');
    const orders = participants.map((p: { joinOrder: number }) => p.joinOrder);
    expect(new Set(orders).size).toBe(N);
    expect([...orders].sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i));
    // The first turn went to the first to attend before the start.
    expect(participants.find((p: { joinOrder: number }) => p.joinOrder === 1).agentId).toBe(currentSpeakerId);
  });
});
