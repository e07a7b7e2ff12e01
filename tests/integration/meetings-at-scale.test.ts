import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEndpoint } from '../helpers/endpoint';
import { agents, mapConcurrently, meetingApi, readyMeeting } from '../helpers/meetings';
import { createOrganization, eventually, startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let orgKey: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  stack = await startTestStack({ DELIVERY_TIMEOUT_MS: '1500' });
  orgKey = (await createOrganization(stack)).apiKey;
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(() => stack?.stop());

/** Reads an SSE response until `count` events arrived, then stops reading. */
async function readSse(response: Response, count: number) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: { id: number; event: string; data: any }[] = [];
  let buffer = '';
  while (events.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields: Record<string, string> = Object.fromEntries(
        block
          .split('\n')
          .filter((line) => line && !line.startsWith(':'))
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
      );
      if (fields.id && fields.event && fields.data) {
        events.push({ id: Number(fields.id), event: fields.event, data: JSON.parse(fields.data) });
      }
      end = buffer.indexOf('\n\n');
    }
  }
  await reader.cancel();
  // A chunk may carry more; the caller processed only `count`, and resumes after the last of them.
  return events.slice(0, count);
}

describe('meetings of serverless agents', () => {
  it('an autoRun meeting of three endpoint agents, one silent, runs to maxTurns by itself', async () => {
    const endpoint = await startEndpoint((request) => {
      if (request.body.type !== 'meeting_turn') return Response.json({});
      const me = request.body.agentId;
      if (me === silentId) return Response.json({}); // never speaks
      return Response.json({
        speech: { from: me, turn: request.body.meeting.turnNumber, heard: request.body.history.length },
      });
    });
    cleanups.push(endpoint.close);
    const [host, talker, silent] = await agents(stack, orgKey, ['host', 'talker', 'silent'], endpoint.url);
    if (!host || !talker || !silent) throw new Error('agents');
    const silentId = silent.id;
    const id = await readyMeeting(stack, host, [talker, silent], {
      autoRun: true,
      maxTurns: 7,
      turnDurationMs: 1_500,
    });
    const api = meetingApi(stack, id);
    await api.act(host, 'start', { content: 'Let us begin' });

    // Nobody polls the meeting: only the cron (fired here as it would be) and the endpoints.
    await eventually(async () => {
      await stack.sweep();
      const { rows } = await stack.sql.query('SELECT status FROM meetings WHERE id = $1', [id]);
      return rows[0].status === 'ended';
    }, 25_000);

    const messages = (await api.messages(host)).body.messages;
    const turns = messages.filter((m: { kind: string; metadata: any }) => m.kind !== 'ending').slice(1);
    // Rotation talker, silent, host, talker, silent, host, talker: the silent turns time out.
    expect(
      turns.map((m: { kind: string; from: string | null }) => (m.kind === 'timeout' ? 'timeout' : m.from)),
    ).toEqual([talker.id, 'timeout', host.id, talker.id, 'timeout', host.id, talker.id]);
    expect(turns[0].content).toMatchObject({ from: talker.id, turn: 1 });
    expect(messages.at(-1)).toMatchObject({ kind: 'ending', content: { reason: 'max_turns' } });

    // Every participant's endpoint received every event (at least once) as meeting_event.
    const events = (await api.events(host, '?limit=500')).body.events;
    for (const agent of [host, talker, silent]) {
      const seen = new Set(
        endpoint.received
          .filter((r) => r.body.type === 'meeting_event' && r.body.agentId === agent.id)
          .map((r) => r.body.event.seq),
      );
      await eventually(async () => {
        await stack.sweep();
        for (const r of endpoint.received) {
          if (r.body.type === 'meeting_event' && r.body.agentId === agent.id) seen.add(r.body.event.seq);
        }
        return seen.size === events.length;
      });
    }
  });

  it('SSE resumes from Last-Event-ID with nothing lost or repeated', async () => {
    const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
    if (!host || !bob) throw new Error('agents');
    const id = await readyMeeting(stack, host, [bob]);
    const api = meetingApi(stack, id);
    await api.act(host, 'start');
    const url = `${stack.apiUrl}/v1/meetings/${id}/events`;
    const headers = { authorization: `Bearer ${bob.token}`, accept: 'text/event-stream' };

    const first = await fetch(url, { headers });
    expect(first.headers.get('content-type')).toContain('text/event-stream');
    const part1 = await readSse(first, 4);
    expect(part1.map((e) => e.id)).toEqual([1, 2, 3, 4]);
    expect(part1[0]).toMatchObject({ event: 'meeting_created', data: { seq: 1, type: 'meeting_created' } });

    // Meanwhile the meeting goes on; the client reconnects in the middle and reads to the end.
    await api.speak(bob, 'b');
    const resumed = await fetch(url, { headers: { ...headers, 'last-event-id': '4' } });
    const reading = readSse(resumed, Number.POSITIVE_INFINITY);
    await api.speak(host, 'h');
    await api.act(host, 'end');
    // The stream closes by itself after meeting_ended.
    const part2 = await reading;
    const total = (await api.events(host, '?limit=500')).body.events.length;
    expect(part2.map((e) => e.id)).toEqual(Array.from({ length: total - 4 }, (_, i) => i + 5));
    expect(part2.at(-1)?.event).toBe('meeting_ended');

    // Resuming an ended meeting from its last event closes at once, with nothing.
    const after = await fetch(url, { headers: { ...headers, 'last-event-id': String(total) } });
    expect(await after.text()).toBe('');
  });

  it('long-polling events returns as soon as something happens', async () => {
    const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
    if (!host || !bob) throw new Error('agents');
    const api = meetingApi(stack, await readyMeeting(stack, host, [bob]));
    const last = (await api.events(bob, '?limit=500')).body.events.at(-1).seq;
    const waiting = api.events(bob, `?after=${last}&waitMs=10000`);
    setTimeout(() => void api.act(host, 'start'), 200);
    const { body } = await waiting;
    expect(body.events[0]).toMatchObject({ seq: last + 1, type: 'meeting_started' });
    expect(body.ended).toBe(false);

    await api.act(host, 'end');
    const final = await api.events(bob, `?after=${last}`);
    expect(final.body).toMatchObject({ ended: true });
    expect(final.body.events.at(-1).type).toBe('meeting_ended');
    // An ended meeting is never waited on (waiting 30 s here would time the test out).
    const nothingMore = await api.events(bob, `?after=${final.body.events.at(-1).seq}&waitMs=30000`);
    expect(nothingMore.body).toEqual({ events: [], ended: true });
  });

  it('a 200-agent meeting, attended all at once, completes a full round in join order', async () => {
    const [host, ...others] = await agents(
      stack,
      orgKey,
      Array.from({ length: 200 }, (_, i) => `agent-${i}`),
    );
    if (!host) throw new Error('agents');
    const created = await stack.call('POST', '/v1/meetings', {
      token: host.token,
      body: { title: 'All hands', participantIds: others.map((a) => a.id), turnDurationMs: 600_000 },
    });
    const api = meetingApi(stack, created.body.meeting.id);
    const attended = await mapConcurrently(others, 10, (agent) => api.act(agent, 'attend'));
    expect(attended.map((r) => r.status)).toEqual(others.map(() => 200));

    let meeting = (await api.act(host, 'start')).body.meeting;
    const byJoinOrder = [...meeting.participants].sort((a: any, b: any) => a.joinOrder - b.joinOrder);
    // Concurrent attends still get distinct, gap-free join orders after the host's 0.
    expect(byJoinOrder.map((p: any) => p.joinOrder)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(byJoinOrder[0].agentId).toBe(host.id);
    const tokens = new Map([host, ...others].map((a) => [a.id, a.token]));
    const round = [...byJoinOrder.slice(1), byJoinOrder[0]].map((p: any) => p.agentId as string);
    for (const speakerId of round) {
      expect(meeting.currentSpeakerId).toBe(speakerId);
      const spoken = await api.speak({ token: tokens.get(speakerId) as string }, `from ${speakerId}`);
      expect(spoken.status).toBe(200);
      meeting = spoken.body.meeting;
    }
    expect(meeting).toMatchObject({ turnNumber: 201, currentSpeakerId: round[0] });
    const messages = (
      await stack.call('GET', `/v1/meetings/${api.id}/messages?limit=500`, { token: host.token })
    ).body.messages;
    expect(messages.map((m: any) => m.from)).toEqual(round);
    // About 600 sequential API calls: a scale check, given room on a loaded 2-core machine.
  }, 120_000);
});
