import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, meetingApi, readyMeeting } from '../helpers/meetings';
import {
  ADMIN_TOKEN,
  createAgent,
  createOrganization,
  startTestStack,
  type TestStack,
} from '../helpers/stack';

let stack: TestStack;
let orgKey: string;

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack)).apiKey;
});
afterAll(() => stack?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('meeting lifecycle', () => {
  it('runs created -> ready -> active -> ended with round-robin turns in join order', async () => {
    const [host, bob, carol] = await agents(stack, orgKey, ['host', 'bob', 'carol']);
    if (!host || !bob || !carol) throw new Error('agents');
    const created = await stack.call('POST', '/v1/meetings', {
      token: host.token,
      body: { title: 'Plan', participantIds: [carol.id, bob.id], turnDurationMs: 60_000 },
    });
    expect(created.status).toBe(201);
    const id = created.body.meeting.id;
    expect(id).toMatch(/^mtg_/);
    expect(created.body.meeting).toMatchObject({
      status: 'created',
      hostId: host.id,
      turnNumber: 0,
      currentSpeakerId: null,
    });
    const api = meetingApi(stack, id);

    // Join order is the order of attending, not of inviting.
    await api.act(bob, 'attend');
    const ready = await api.act(carol, 'attend');
    expect(ready.body.meeting.status).toBe('ready');
    expect(ready.body.meeting.participants).toEqual([
      { agentId: host.id, status: 'attending', joinOrder: 0 },
      { agentId: bob.id, status: 'attending', joinOrder: 1 },
      { agentId: carol.id, status: 'attending', joinOrder: 2 },
    ]);

    const started = await api.act(host, 'start', { content: 'Welcome' });
    expect(started.status).toBe(200);
    expect(started.body.message).toMatchObject({
      from: host.id,
      content: 'Welcome',
      meetingId: id,
      to: null,
    });
    expect(started.body.meeting).toMatchObject({ status: 'active', turnNumber: 1, currentSpeakerId: bob.id });
    expect(Date.parse(started.body.meeting.turnEndsAt)).toBeGreaterThan(Date.now());

    expect((await api.speak(bob, 'b1')).body.meeting.currentSpeakerId).toBe(carol.id);
    expect((await api.speak(carol, 'c1')).body.meeting.currentSpeakerId).toBe(host.id);
    expect((await api.speak(host, 'h1')).body.meeting.currentSpeakerId).toBe(bob.id);

    const status = await api.get(carol);
    expect(status.body.meeting).toMatchObject({ turnNumber: 4, currentSpeakerId: bob.id });
    expect(
      status.body.meeting.participants.find((p: { agentId: string }) => p.agentId === bob.id).status,
    ).toBe('speaking');

    const ended = await api.act(host, 'end');
    expect(ended.body.meeting).toMatchObject({ status: 'ended', currentSpeakerId: null, turnEndsAt: null });

    const history = await api.messages(bob);
    expect(history.body.messages.map((m: { kind: string; content: unknown }) => [m.kind, m.content])).toEqual(
      [
        ['user', 'Welcome'],
        ['user', 'b1'],
        ['user', 'c1'],
        ['user', 'h1'],
        ['ending', { event: 'meeting_ended', reason: 'host' }],
      ],
    );

    const { body } = await api.events({ token: orgKey }, '?limit=500');
    const seqs = body.events.map((e: { seq: number }) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    const types = body.events.map((e: { type: string }) => e.type);
    expect(types.slice(0, 5)).toEqual([
      'meeting_created',
      'participant_invited',
      'participant_invited',
      'participant_joined',
      'participant_joined',
    ]);
    expect(types).toContain('meeting_started');
    expect(types.filter((t: string) => t === 'turn_started')).toHaveLength(4);
    expect(types.at(-1)).toBe('meeting_ended');
  });

  it('refuses what the rules forbid, with stable codes', async () => {
    const [host, bob, carol, stranger] = await agents(stack, orgKey, ['host', 'bob', 'carol', 'stranger']);
    if (!host || !bob || !carol || !stranger) throw new Error('agents');
    const created = await stack.call('POST', '/v1/meetings', {
      token: host.token,
      body: { title: 'Rules', participantIds: [bob.id, carol.id], turnDurationMs: 60_000 },
    });
    const api = meetingApi(stack, created.body.meeting.id);
    const expectProblem = async (
      promise: Promise<{ status: number; body: any }>,
      status: number,
      code: string,
    ) => {
      const response = await promise;
      expect(response.status, code).toBe(status);
      expect(response.body.code).toBe(code);
    };

    await expectProblem(api.act(host, 'start'), 409, 'meeting_not_ready');
    await expectProblem(api.speak(host, 'too early'), 409, 'meeting_not_active');
    await expectProblem(api.act(bob, 'leave'), 409, 'not_attending');
    await api.act(bob, 'attend');
    await expectProblem(api.act(bob, 'start'), 403, 'not_host');
    await expectProblem(api.act(bob, 'invite', { agentIds: [stranger.id] }), 403, 'not_host');
    await expectProblem(api.act(host, 'leave'), 409, 'host_cannot_leave');
    await expectProblem(api.get(stranger), 404, 'meeting_not_found');
    await expectProblem(api.act(stranger, 'attend'), 404, 'meeting_not_found');

    await api.act(host, 'start');
    await expectProblem(api.act(host, 'start'), 409, 'meeting_already_started');
    await expectProblem(api.speak(host, 'not mine'), 409, 'not_your_turn');
    await expectProblem(api.act(bob, 'end'), 403, 'not_host');
    await expectProblem(api.speak(carol, 'only invited'), 409, 'not_your_turn');

    await api.act(host, 'end');
    await expectProblem(api.speak(bob, 'after the end'), 409, 'meeting_not_active');
    await expectProblem(api.act(carol, 'attend'), 409, 'meeting_ended');
    await expectProblem(api.act(host, 'end'), 409, 'meeting_ended');

    // The organization key reads; another organization and the admin do not.
    expect((await api.get({ token: orgKey })).status).toBe(200);
    const otherKey = (await createOrganization(stack, 'Other')).apiKey;
    expect((await api.get({ token: otherKey })).status).toBe(404);
    expect((await api.get({ token: ADMIN_TOKEN })).status).toBe(403);
    expect((await api.act({ token: orgKey }, 'end')).status).toBe(403);
  });

  it('validates creation', async () => {
    const host = await createAgent(stack, orgKey, { name: 'host' });
    const outsider = await createAgent(stack, (await createOrganization(stack, 'Far')).apiKey, {
      name: 'far',
    });
    for (const [body, code] of [
      [{ title: 'x', participantIds: [], turnDurationMs: 10 }, 'validation_failed'],
      [{ title: '', participantIds: [], turnDurationMs: 1000 }, 'validation_failed'],
      [{ title: 'x', participantIds: [], turnDurationMs: 1000, maxTurns: 0 }, 'validation_failed'],
      [{ title: 'x', participantIds: [outsider.id], turnDurationMs: 1000 }, 'agent_not_found'],
    ] as const) {
      const response = await stack.call('POST', '/v1/meetings', { token: host.token, body });
      expect(response.body.code, JSON.stringify(body)).toBe(code);
    }
  });

  it('leaving while speaking passes the turn; the rotation skips those who left', async () => {
    const [host, bob, carol] = await agents(stack, orgKey, ['host', 'bob', 'carol']);
    if (!host || !bob || !carol) throw new Error('agents');
    const api = meetingApi(stack, await readyMeeting(stack, host, [bob, carol]));
    await api.act(host, 'start');
    const left = await api.act(bob, 'leave');
    expect(left.body.meeting).toMatchObject({ currentSpeakerId: carol.id, turnNumber: 2 });
    await api.speak(carol, 'c');
    await api.speak(host, 'h');
    expect((await api.get(host)).body.meeting.currentSpeakerId).toBe(carol.id);
  });

  it('the host ends the meeting while a turn is pending: the speaker is released', async () => {
    const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
    if (!host || !bob) throw new Error('agents');
    const api = meetingApi(stack, await readyMeeting(stack, host, [bob]));
    await api.act(host, 'start');
    await api.act(host, 'end');
    const after = await api.get(bob);
    expect(after.body.meeting.participants.map((p: { status: string }) => p.status)).toEqual([
      'attending',
      'attending',
    ]);
    expect((await api.speak(bob, 'late')).body.code).toBe('meeting_not_active');
  });

  it('a deactivated agent leaves its meetings (its turn passes), and the meetings it hosts end', async () => {
    const [host, bob, carol] = await agents(stack, orgKey, ['host', 'bob', 'carol']);
    if (!host || !bob || !carol) throw new Error('agents');
    const api = meetingApi(stack, await readyMeeting(stack, host, [bob, carol]));
    await api.act(host, 'start');
    const hostedByBob = meetingApi(stack, await readyMeeting(stack, bob, [carol]));

    expect((await stack.call('DELETE', `/v1/agents/${bob.id}`, { token: orgKey })).status).toBe(200);
    // Bob was speaking: the turn passed to carol, and bob is out of the rotation.
    const meeting = (await api.get(host)).body.meeting;
    expect(meeting).toMatchObject({ status: 'active', currentSpeakerId: carol.id, turnNumber: 2 });
    expect(meeting.participants.find((p: { agentId: string }) => p.agentId === bob.id).status).toBe('left');
    await api.speak(carol, 'c');
    await api.speak(host, 'h');
    expect((await api.get(host)).body.meeting.currentSpeakerId).toBe(carol.id);

    const ended = (await hostedByBob.get(carol)).body.meeting;
    expect(ended.status).toBe('ended');
    const last = (await hostedByBob.messages(carol)).body.messages.at(-1);
    expect(last).toMatchObject({
      kind: 'ending',
      from: null,
      content: { reason: 'host_deactivated' },
      metadata: { onBehalfOf: bob.id },
    });
  });

  it('maxTurns ends the meeting by itself', async () => {
    const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
    if (!host || !bob) throw new Error('agents');
    const api = meetingApi(stack, await readyMeeting(stack, host, [bob], { maxTurns: 3 }));
    await api.act(host, 'start', { content: 'opening' });
    await api.speak(bob, 1);
    await api.speak(host, 2);
    const last = await api.speak(bob, 3);
    expect(last.body.meeting.status).toBe('ended');
    const events = (await api.events(host, '?limit=500')).body.events;
    expect(events.at(-1)).toMatchObject({
      type: 'meeting_ended',
      data: { reason: 'max_turns', endedBy: null },
    });
  });

  it('50 concurrent speeches by the current speaker: exactly one is taken', async () => {
    const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
    if (!host || !bob) throw new Error('agents');
    const api = meetingApi(stack, await readyMeeting(stack, host, [bob]));
    await api.act(host, 'start');
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => api.speak(bob, i)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.code === 'not_your_turn')).toBe(true);
    const messages = (await api.messages(host)).body.messages;
    expect(messages.filter((m: { from: string }) => m.from === bob.id)).toHaveLength(1);
  });
});

/**
 * Moves the current turn's deadline `agoMs` into the past, as if that much time had gone by since
 * it ran out: deterministic, unlike sleeping on a loaded machine. Returns the new deadline.
 */
async function turnRanOut(id: string, agoMs = 1): Promise<number> {
  const { rows } = await stack.sql.query(
    `UPDATE meetings SET turn_ends_at = date_trunc('milliseconds', now()) - make_interval(secs => $2::float / 1000)
     WHERE id = $1 RETURNING turn_ends_at`,
    [id, agoMs],
  );
  return (rows[0].turn_ends_at as Date).getTime();
}

describe('turn timeouts', () => {
  it('the sweeper ends an overdue turn with a timeout message and passes the turn', async () => {
    const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
    if (!host || !bob) throw new Error('agents');
    const id = await readyMeeting(stack, host, [bob], { turnDurationMs: 10_000 });
    const api = meetingApi(stack, id);
    await api.act(host, 'start');
    await turnRanOut(id);
    await stack.sweep();
    // Read the rows directly: an API read would apply the timeout itself.
    const { rows } = await stack.sql.query(
      'SELECT turn_number, current_speaker_id FROM meetings WHERE id = $1',
      [id],
    );
    expect(rows[0]).toEqual({ turn_number: 2, current_speaker_id: host.id });
    const timeout = (await api.messages(host)).body.messages.find(
      (m: { kind: string }) => m.kind === 'timeout',
    );
    expect(timeout).toMatchObject({ from: null, metadata: { onBehalfOf: bob.id, turnNumber: 1 } });
    const events = (await api.events(host)).body.events.map((e: { type: string }) => e.type);
    expect(events).toContain('turn_timed_out');
  });

  it('a real deadline passes: a turn of 300 ms is over after 300 ms', async () => {
    const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
    if (!host || !bob) throw new Error('agents');
    const api = meetingApi(stack, await readyMeeting(stack, host, [bob], { turnDurationMs: 300 }));
    await api.act(host, 'start');
    expect((await api.get(host)).body.meeting.turnNumber).toBe(1);
    await sleep(400);
    expect((await api.get(host)).body.meeting.turnNumber).toBeGreaterThan(1);
  });

  it('a read applies overdue turns lazily, several in a row, in order', async () => {
    const [host, bob, carol] = await agents(stack, orgKey, ['host', 'bob', 'carol']);
    if (!host || !bob || !carol) throw new Error('agents');
    const id = await readyMeeting(stack, host, [bob, carol], { turnDurationMs: 10_000 });
    const api = meetingApi(stack, id);
    await api.act(host, 'start');
    // Turn 1 ran out 35 s ago: turns 1..4 (bob, carol, host, bob) are over; turn 5 (carol) runs.
    const ranOutAt = await turnRanOut(id, 35_000);
    const read = await api.get(host);
    expect(read.body.meeting).toMatchObject({ turnNumber: 5, currentSpeakerId: carol.id });
    // Each turn started when the previous one ended: no drift from the moment of the read.
    expect(Date.parse(read.body.meeting.turnEndsAt)).toBe(ranOutAt + 4 * 10_000);
    const timeouts = (await api.messages(host)).body.messages.filter(
      (m: { kind: string }) => m.kind === 'timeout',
    );
    expect(timeouts.map((m: { metadata: unknown }) => m.metadata)).toEqual([
      { onBehalfOf: bob.id, turnNumber: 1 },
      { onBehalfOf: carol.id, turnNumber: 2 },
      { onBehalfOf: host.id, turnNumber: 3 },
      { onBehalfOf: bob.id, turnNumber: 4 },
    ]);
  });

  it('a backlog of overdue turns is worked off in bounded transactions, in order', async () => {
    const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
    if (!host || !bob) throw new Error('agents');
    const id = await readyMeeting(stack, host, [bob], { turnDurationMs: 10_000 });
    const api = meetingApi(stack, id);
    await api.act(host, 'start');
    // As after an outage: turns 1..150 are over, turn 151 runs.
    const ranOutAt = await turnRanOut(id, 1_495_000);
    // One transaction applies at most 100 of them (MAX_CATCH_UP); the next touch goes on.
    expect((await api.get(host)).body.meeting.turnNumber).toBe(101);
    const read = await api.get(host);
    expect(read.body.meeting.turnNumber).toBe(151);
    expect(Date.parse(read.body.meeting.turnEndsAt)).toBe(ranOutAt + 150 * 10_000);
    const events = (await api.events(host, '?limit=500')).body.events;
    const timedOut = events.filter((e: { type: string }) => e.type === 'turn_timed_out');
    expect(timedOut.map((e: { data: { turnNumber: number } }) => e.data.turnNumber)).toEqual(
      Array.from({ length: 150 }, (_, i) => i + 1),
    );
    expect(events.map((e: { seq: number }) => e.seq)).toEqual(events.map((_: unknown, i: number) => i + 1));
  });

  it('a speech after the deadline is refused with turn_expired, not taken as the next speaker', async () => {
    const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
    if (!host || !bob) throw new Error('agents');
    const id = await readyMeeting(stack, host, [bob], { turnDurationMs: 10_000 });
    const api = meetingApi(stack, id);
    await api.act(host, 'start');
    await turnRanOut(id);
    const late = await api.speak(bob, 'sorry');
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('turn_expired');
    const meeting = (await api.get(host)).body.meeting;
    expect(meeting).toMatchObject({ currentSpeakerId: host.id, turnNumber: 2 });
  });

  it('the sweeper and requests racing on one overdue turn advance it exactly once', async () => {
    const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
    if (!host || !bob) throw new Error('agents');
    const id = await readyMeeting(stack, host, [bob], { turnDurationMs: 10_000 });
    const api = meetingApi(stack, id);
    await api.act(host, 'start');
    await turnRanOut(id);
    await Promise.all([
      stack.sweep(),
      api.get(host),
      api.get(bob),
      stack.sweep(),
      api.messages(host),
      api.events(bob),
    ]);
    const events = (await api.events(host, '?limit=500')).body.events;
    const timedOut = events.filter((e: { type: string }) => e.type === 'turn_timed_out');
    expect(timedOut.map((e: { data: { turnNumber: number } }) => e.data.turnNumber)).toEqual([1]);
    const started = events.filter((e: { type: string }) => e.type === 'turn_started');
    expect(started.map((e: { data: { turnNumber: number } }) => e.data.turnNumber)).toEqual([1, 2]);
    expect((await api.get(host)).body.meeting.turnNumber).toBe(2);
  });
});
