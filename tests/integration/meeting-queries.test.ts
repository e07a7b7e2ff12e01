import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeetingEvent } from '../../functions/api/src/schemas';
import { agents, meetingApi, readyMeeting } from '../helpers/meetings';
import {
  ADMIN_TOKEN,
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestAgent,
  type TestStack,
} from '../helpers/stack';

// Meetings beyond the lifecycle: listing, statistics, rejoining, speech metadata, the end
// conditions besides maxTurns, and who-am-I.

let stack: TestStack;
let orgKey: string;
let otherOrgKey: string;

beforeAll(async () => {
  stack = await startTestStack();
  orgKey = (await createOrganization(stack, 'Meeters')).apiKey;
  otherOrgKey = (await createOrganization(stack, 'Others')).apiKey;
});
afterAll(() => stack?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function three(names: [string, string, string]): Promise<[TestAgent, TestAgent, TestAgent]> {
  const [a, b, c] = await agents(stack, orgKey, names);
  if (!a || !b || !c) throw new Error('agents');
  return [a, b, c];
}

describe('GET /v1/me', () => {
  it('says who a credential is, and refuses what is not one', async () => {
    const ann = await createAgent(stack, orgKey, { name: 'ann', externalId: 'ann-1' });
    const asAgent = await stack.call('GET', '/v1/me', { token: ann.token });
    expect(asAgent.status).toBe(200);
    expect(asAgent.body).toEqual({
      kind: 'agent',
      organization: { id: expect.stringMatching(/^org_/), name: 'Meeters' },
      agent: {
        id: ann.id,
        externalId: 'ann-1',
        name: 'ann',
        description: null,
        metadata: {},
        status: 'active',
        endpoint: false,
      },
    });
    const asOrg = await stack.call('GET', '/v1/me', { token: orgKey });
    expect(asOrg.body).toEqual({
      kind: 'organization',
      organization: asAgent.body.organization,
      agent: null,
    });
    expect((await stack.call('GET', '/v1/me', { token: ADMIN_TOKEN })).status).toBe(403);
    await stack.call('POST', `/v1/agents/${ann.id}/rotate`, { token: orgKey });
    const revoked = await stack.call('GET', '/v1/me', { token: ann.token });
    expect([revoked.status, revoked.body.code]).toEqual([401, 'unauthorized']);
  });
});

describe('GET /v1/meetings', () => {
  it("lists the caller's meetings by role and status, newest first, in full pages", async () => {
    const [host, guest, outsider] = await three(['lister', 'guest', 'outsider']);
    const hosted: string[] = [];
    for (let i = 0; i < 5; i++) hosted.push(await readyMeeting(stack, host, [guest], { title: `m${i}` }));
    const invitedTo = await readyMeeting(stack, guest, [host], { title: 'guest hosts' });
    await stack.call('POST', `/v1/meetings/${hosted[0]}/start`, { token: host.token });
    await stack.call('POST', `/v1/meetings/${hosted[1]}/end`, { token: host.token });

    const list = async (token: string, query: string) => {
      const response = await stack.call('GET', `/v1/meetings${query}`, { token });
      expect(response.status, query).toBe(200);
      return response.body as { meetings: { id: string }[]; nextCursor: string | null };
    };
    const ids = (page: { meetings: { id: string }[] }) => page.meetings.map((m) => m.id);
    expect(ids(await list(host.token, ''))).toEqual([invitedTo, ...hosted].sort().reverse());
    expect(ids(await list(host.token, '?role=host'))).toEqual([...hosted].reverse());
    expect(ids(await list(host.token, '?role=participant'))).toEqual([invitedTo]);
    expect(ids(await list(host.token, '?status=active'))).toEqual([hosted[0]]);
    expect((await list(host.token, '?status=ended')).meetings).toMatchObject([
      { id: hosted[1], status: 'ended', endReason: 'host' },
    ]);
    expect(ids(await list(outsider.token, ''))).toEqual([]);

    // Pages of two: full pages, then the rest, nothing twice.
    const seen: string[] = [];
    let cursor = '';
    for (;;) {
      const page = await list(host.token, `?role=host&limit=2${cursor && `&cursor=${cursor}`}`);
      seen.push(...ids(page));
      if (!page.nextCursor) break;
      expect(page.meetings).toHaveLength(2);
      cursor = page.nextCursor;
    }
    expect(seen).toEqual([...hosted].reverse());

    // The organization key: all of them, or one agent's; another organization's key: none.
    expect(ids(await list(orgKey, `?agentId=${guest.id}&role=host`))).toEqual([invitedTo]);
    expect(ids(await list(orgKey, ''))).toEqual(expect.arrayContaining([...hosted, invitedTo]));
    expect(ids(await list(otherOrgKey, ''))).toEqual([]);
    const foreign = await stack.call('GET', `/v1/meetings?agentId=${guest.id}`, { token: otherOrgKey });
    expect([foreign.status, foreign.body.code]).toEqual([404, 'agent_not_found']);
    const notForAgents = await stack.call('GET', `/v1/meetings?agentId=${guest.id}`, { token: host.token });
    expect([notForAgents.status, notForAgents.body.code]).toEqual([403, 'forbidden']);
    const roleAlone = await stack.call('GET', '/v1/meetings?role=host', { token: orgKey });
    expect([roleAlone.status, roleAlone.body.code]).toEqual([400, 'validation_failed']);
    const badStatus = await stack.call('GET', '/v1/meetings?status=over', { token: host.token });
    expect([badStatus.status, badStatus.body.code]).toEqual([400, 'validation_failed']);
  });
});

describe('GET /v1/meetings/{id}/stats', () => {
  it('counts turns, speeches and timeouts, and times each participant to speak', async () => {
    const [host, bob, carol] = await three(['chair', 'bob', 'carol']);
    const api = meetingApi(stack, await readyMeeting(stack, host, [bob, carol], { turnDurationMs: 400 }));
    const before = await stack.call('GET', `/v1/meetings/${api.id}/stats`, { token: bob.token });
    expect(before.body.stats).toMatchObject({ status: 'ready', durationMs: null, turns: 0, messages: 0 });

    await api.act(host, 'start', { content: 'opening' }); // turn 1: bob
    await sleep(150);
    expect((await api.speak(bob, 'bob speaks')).status).toBe(200); // turn 2: carol, who stays silent
    await sleep(500); // carol's turn times out; turn 3: host
    expect((await api.speak(host, 'host speaks')).status).toBe(200); // turn 4: bob
    expect((await api.speak(bob, 'bob again')).status).toBe(200); // turn 5: carol

    const { status, body } = await stack.call('GET', `/v1/meetings/${api.id}/stats`, { token: carol.token });
    expect(status).toBe(200);
    const { stats } = body;
    expect(stats).toMatchObject({ meetingId: api.id, status: 'active', turns: 5, messages: 4, timeouts: 1 });
    expect(stats.durationMs).toBeGreaterThanOrEqual(650);
    const byAgent = Object.fromEntries(stats.participants.map((p: { agentId: string }) => [p.agentId, p]));
    expect(byAgent[host.id]).toMatchObject({ turnsTaken: 1, turnsTimedOut: 0, messages: 2 });
    expect(byAgent[bob.id]).toMatchObject({ turnsTaken: 2, turnsTimedOut: 0, messages: 2 });
    expect(byAgent[carol.id]).toMatchObject({
      turnsTaken: 0,
      turnsTimedOut: 1,
      messages: 0,
      meanMsToSpeak: null,
      maxMsToSpeak: null,
    });
    // bob took about 150 ms for his first turn and almost nothing for his second.
    expect(byAgent[bob.id].maxMsToSpeak).toBeGreaterThanOrEqual(140);
    expect(byAgent[bob.id].meanMsToSpeak).toBeLessThan(byAgent[bob.id].maxMsToSpeak);
    // The host's turn began when carol's ended (400 ms after it began), not when it was applied.
    expect(byAgent[host.id].maxMsToSpeak).toBeGreaterThanOrEqual(50);
    expect(stats.participants.map((p: { joinOrder: number }) => p.joinOrder)).toEqual([0, 1, 2]);

    // Ended: the duration stops.
    await api.act(host, 'end');
    const ended = (await stack.call('GET', `/v1/meetings/${api.id}/stats`, { token: orgKey })).body.stats;
    await sleep(50);
    const later = (await stack.call('GET', `/v1/meetings/${api.id}/stats`, { token: orgKey })).body.stats;
    expect(ended.status).toBe('ended');
    expect(later.durationMs).toBe(ended.durationMs);
  });

  it('is for the organization and those invited only', async () => {
    const [host, bob, stranger] = await three(['host', 'bob', 'stranger']);
    const id = await readyMeeting(stack, host, [bob]);
    for (const token of [stranger.token, otherOrgKey]) {
      const response = await stack.call('GET', `/v1/meetings/${id}/stats`, { token });
      expect([response.status, response.body.code]).toEqual([404, 'meeting_not_found']);
    }
    expect((await stack.call('GET', `/v1/meetings/${id}/stats`, { token: ADMIN_TOKEN })).status).toBe(403);
  });
});

describe('rejoining, inviting again, speech metadata', () => {
  it('a participant who left attends again, last in the rotation, and takes turns again', async () => {
    const [host, bob, carol] = await three(['host', 'bob', 'carol']);
    const api = meetingApi(stack, await readyMeeting(stack, host, [bob, carol]));
    await api.act(host, 'start'); // bob speaks
    expect((await api.act(bob, 'leave')).body.meeting.currentSpeakerId).toBe(carol.id);
    const back = await api.act(bob, 'attend');
    expect(back.status).toBe(200);
    expect(back.body.meeting.participants).toContainEqual({
      agentId: bob.id,
      status: 'attending',
      joinOrder: 3,
    });
    const events = (await api.events(host, '?limit=500')).body.events;
    expect(events.at(-1)).toMatchObject({
      type: 'participant_joined',
      data: { agentId: bob.id, joinOrder: 3, rejoined: true },
    });
    // In join order: host 0, carol 2, bob 3; carol speaks now, then bob, then the host.
    expect((await api.speak(carol, 'c')).body.meeting.currentSpeakerId).toBe(bob.id);
    expect((await api.speak(bob, 'back')).body.meeting.currentSpeakerId).toBe(host.id);
    // Attending again while attending changes nothing.
    expect((await api.act(bob, 'attend')).body.meeting.participants).toContainEqual({
      agentId: bob.id,
      status: 'attending',
      joinOrder: 3,
    });
  });

  it('the host invites again one who left; only the host, only active agents', async () => {
    const [host, bob, carol] = await three(['host', 'bob', 'carol']);
    const api = meetingApi(stack, await readyMeeting(stack, host, [bob, carol]));
    await api.act(bob, 'leave');
    expect((await api.act(carol, 'invite', { agentIds: [bob.id] })).status).toBe(403);
    const invited = await api.act(host, 'invite', { agentIds: [bob.id, carol.id] });
    expect(invited.status).toBe(200);
    expect(invited.body.meeting.participants).toContainEqual({
      agentId: bob.id,
      status: 'invited',
      joinOrder: null,
    });
    expect(invited.body.meeting.participants).toContainEqual({
      agentId: carol.id,
      status: 'attending',
      joinOrder: 2,
    });
    const events = (await api.events(host, '?limit=500')).body.events;
    expect(events.at(-1)).toMatchObject({
      type: 'participant_invited',
      data: { agentId: bob.id, again: true },
    });
    expect(events.filter((e: { type: string }) => e.type === 'participant_invited')).toHaveLength(3);
    expect((await api.act(bob, 'attend')).body.meeting.participants).toContainEqual({
      agentId: bob.id,
      status: 'attending',
      joinOrder: 3,
    });
    // One who left and was deactivated since cannot be invited again; nothing else changes.
    await api.act(bob, 'leave');
    await stack.call('DELETE', `/v1/agents/${bob.id}`, { token: orgKey });
    const refused = await api.act(host, 'invite', { agentIds: [bob.id] });
    expect(refused.status).toBe(409);
    expect((await api.get(host)).body.meeting.participants).toContainEqual({
      agentId: bob.id,
      status: 'left',
      joinOrder: 3,
    });
  });

  it('a speech carries metadata, kept on its message', async () => {
    const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
    if (!host || !bob) throw new Error('agents');
    const api = meetingApi(stack, await readyMeeting(stack, host, [bob]));
    await api.act(host, 'start');
    const spoken = await stack.call('POST', `/v1/meetings/${api.id}/speak`, {
      token: bob.token,
      body: { content: 'with notes', metadata: { topic: 'budget', confidence: 0.8 } },
    });
    expect(spoken.status).toBe(200);
    expect(spoken.body.message.metadata).toEqual({ topic: 'budget', confidence: 0.8 });
    const history = (await api.messages(host)).body.messages;
    expect(history.at(-1)).toMatchObject({
      content: 'with notes',
      metadata: { topic: 'budget', confidence: 0.8 },
    });
    const bad = await stack.call('POST', `/v1/meetings/${api.id}/speak`, {
      token: host.token,
      body: { content: 'x', metadata: 'not an object' },
    });
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_failed']);
  });
});

describe('end conditions besides maxTurns', () => {
  it('when nobody but the host is left, the meeting ends (no_participants)', async () => {
    const [host, bob, carol] = await three(['host', 'bob', 'carol']);
    const api = meetingApi(stack, await readyMeeting(stack, host, [bob, carol]));
    await api.act(host, 'start');
    expect((await api.act(bob, 'leave')).body.meeting.status).toBe('active');
    // carol is deactivated: she leaves, and nobody is left to talk to.
    await stack.call('DELETE', `/v1/agents/${carol.id}`, { token: orgKey });
    const meeting = (await api.get(host)).body.meeting;
    expect(meeting).toMatchObject({ status: 'ended', endReason: 'no_participants', currentSpeakerId: null });
    const events = (await api.events(host, '?limit=500')).body.events;
    expect(events.at(-1)).toMatchObject({ type: 'meeting_ended', data: { reason: 'no_participants' } });
  });

  it('validates maxDurationMs', async () => {
    const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
    if (!host || !bob) throw new Error('agents');
    for (const maxDurationMs of [0, 999, 8 * 24 * 3_600_000, 1.5, '60000']) {
      const response = await stack.call('POST', '/v1/meetings', {
        token: host.token,
        body: { title: 't', participantIds: [bob.id], turnDurationMs: 1000, maxDurationMs },
      });
      expect([response.status, response.body.code], String(maxDurationMs)).toEqual([
        400,
        'validation_failed',
      ]);
    }
  });

  it("every event a meeting records has its type's documented shape", async () => {
    const [host, bob, carol] = await three(['host', 'bob', 'carol']);
    const api = meetingApi(stack, await readyMeeting(stack, host, [bob, carol], { turnDurationMs: 200 }));
    await api.act(host, 'start', { content: 'hi' });
    await api.speak(bob, 'b');
    await sleep(250); // carol times out
    await api.act(bob, 'leave');
    await api.act(host, 'invite', { agentIds: [bob.id] });
    await api.act(bob, 'attend');
    await api.act(host, 'end');
    const events = (await api.events(host, '?limit=500')).body.events;
    expect(new Set(events.map((e: { type: string }) => e.type)).size).toBe(9);
    for (const event of events)
      expect(MeetingEvent.safeParse(event).error, JSON.stringify(event)).toBeUndefined();
  });
});

describe('maxDurationMs, with the clock alone', () => {
  let clocked: TestStack;
  beforeAll(async () => {
    clocked = await startTestStack({}, { ticker: true });
  });
  afterAll(() => clocked?.stop());

  it('caps the turn at the meeting end, and the ticker ends the meeting on time with nobody asking', async () => {
    const key = (await createOrganization(clocked, 'Clocked')).apiKey;
    const host = await createAgent(clocked, key, { name: 'host' });
    const bob = await createAgent(clocked, key, { name: 'bob' });
    const created = await clocked.call('POST', '/v1/meetings', {
      token: host.token,
      body: { title: 'short', participantIds: [bob.id], turnDurationMs: 60_000, maxDurationMs: 1000 },
    });
    expect(created.body.meeting.maxDurationMs).toBe(1000);
    const id = created.body.meeting.id;
    await clocked.call('POST', `/v1/meetings/${id}/attend`, { token: bob.token });
    const started = (await clocked.call('POST', `/v1/meetings/${id}/start`, { token: host.token })).body
      .meeting;
    expect(Date.parse(started.turnEndsAt) - Date.parse(started.startedAt)).toBe(1000);

    const ended = await eventually(async () => {
      const { rows } = await clocked.sql.query(
        'SELECT status, end_reason, ended_at, started_at FROM meetings WHERE id = $1',
        [id],
      );
      return rows[0].status === 'ended' ? rows[0] : undefined;
    }, 5_000);
    expect(ended.end_reason).toBe('max_duration');
    const lateMs = ended.ended_at.getTime() - ended.started_at.getTime() - 1000;
    expect(lateMs).toBeGreaterThanOrEqual(0);
    const { body } = await clocked.call('GET', `/v1/meetings/${id}/events?limit=500`, { token: host.token });
    expect(body.events.at(-1)).toMatchObject({ type: 'meeting_ended', data: { reason: 'max_duration' } });
    // The silent turn ended with the meeting: no timeout was recorded for it.
    expect(body.events.some((e: { type: string }) => e.type === 'turn_timed_out')).toBe(false);
  });

  it('maxTurns is reached by timeouts alone: the ticker times out each silent turn and ends the meeting', async () => {
    const key = (await createOrganization(clocked, 'Silent')).apiKey;
    const host = await createAgent(clocked, key, { name: 'host' });
    const bob = await createAgent(clocked, key, { name: 'bob' });
    const created = await clocked.call('POST', '/v1/meetings', {
      token: host.token,
      body: { title: 'silent', participantIds: [bob.id], turnDurationMs: 200, maxTurns: 3 },
    });
    const id = created.body.meeting.id;
    await clocked.call('POST', `/v1/meetings/${id}/attend`, { token: bob.token });
    await clocked.call('POST', `/v1/meetings/${id}/start`, { token: host.token });
    const reason = await eventually(async () => {
      const { rows } = await clocked.sql.query('SELECT end_reason FROM meetings WHERE id = $1', [id]);
      return rows[0].end_reason;
    }, 5_000);
    expect(reason).toBe('max_turns');
    const { rows } = await clocked.sql.query(
      "SELECT data->>'speakerId' AS speaker FROM meeting_events WHERE meeting_id = $1 AND type = 'turn_timed_out' ORDER BY seq",
      [id],
    );
    expect(rows.map((r: { speaker: string }) => r.speaker)).toEqual([bob.id, host.id, bob.id]);
  });
});

describe('maxDurationMs, with the safety-net pass alone (no clock bound)', () => {
  it("the cron's pass ends a meeting past its maxDurationMs", async () => {
    const host = await createAgent(stack, orgKey, { name: 'host' });
    const bob = await createAgent(stack, orgKey, { name: 'bob' });
    const created = await stack.call('POST', '/v1/meetings', {
      token: host.token,
      body: { title: 'swept', participantIds: [bob.id], turnDurationMs: 60_000, maxDurationMs: 1000 },
    });
    const id = created.body.meeting.id;
    await stack.call('POST', `/v1/meetings/${id}/attend`, { token: bob.token });
    await stack.call('POST', `/v1/meetings/${id}/start`, { token: host.token });
    await stack.sweep();
    const read = async () =>
      (await stack.sql.query('SELECT status, end_reason FROM meetings WHERE id = $1', [id])).rows[0];
    expect(await read()).toEqual({ status: 'active', end_reason: null });
    await sleep(1100);
    await stack.sweep();
    expect(await read()).toEqual({ status: 'ended', end_reason: 'max_duration' });
  });
});
