import {
  AgentBusyError,
  AgentMessaging,
  AgentNotFoundError,
  AuthError,
  createAgentHandler,
  IdempotencyConflictError,
  type MeetingEvent,
  MeetingNotActiveError,
  NotHostError,
  NotYourTurnError,
  resumeAgentHandler,
  SessionEndedError,
  TimeoutError,
  TurnExpiredError,
} from '@agent-messaging/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serveHandler } from '../helpers/endpoint';
import { ADMIN_TOKEN, eventually, startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let org: AgentMessaging;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  const admin = new AgentMessaging({ baseUrl: stack.apiUrl, token: ADMIN_TOKEN });
  const { apiKey } = await admin.organizations.create({ name: 'SDK Inc' });
  org = new AgentMessaging({ baseUrl: stack.apiUrl, token: apiKey });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(() => stack?.stop());

/** An agent made through the SDK; with handlers, its endpoint is the SDK's createAgentHandler. */
async function agent(
  name: string,
  handlers?: Omit<Parameters<typeof createAgentHandler>[0], 'signingSecret'>,
) {
  const created = await org.agents.create({ name });
  if (handlers) {
    const server = await serveHandler(
      createAgentHandler({ signingSecret: created.signingSecret, ...handlers }),
    );
    cleanups.push(server.close);
    await org.agents.update(created.agent.id, { endpointUrl: server.url });
  }
  return {
    id: created.agent.id,
    token: created.token,
    client: new AgentMessaging({ baseUrl: stack.apiUrl, token: created.token }),
  };
}

/** A meeting hosted by a new agent, with another one invited and attending; not started. */
async function twoAgentMeeting(title: string) {
  const host = await agent('host');
  const guest = await agent('guest');
  const meeting = await host.client.meetings.create({
    title,
    participantIds: [guest.id],
    turnDurationMs: 60_000,
  });
  await guest.client.meetings.attend(meeting.id);
  return { host, guest, meeting };
}

describe('SDK against the real service', () => {
  it('manages agents with the organization key', async () => {
    const created = await org.agents.create({ name: 'crud', externalId: 'sdk-crud' });
    expect(await org.agents.find('sdk-crud')).toMatchObject({ id: created.agent.id });
    expect(await org.agents.find('nobody')).toBeNull();
    expect((await org.agents.update(created.agent.id, { description: 'd' })).description).toBe('d');
    const rotated = await org.agents.rotate(created.agent.id);
    expect(rotated.token).not.toBe(created.token);
    expect((await org.agents.deactivate(created.agent.id)).status).toBe('deactivated');
    await expect(org.agents.get('agt_01jd6s5v1xe8rb8xgsnq8mq2gx')).rejects.toBeInstanceOf(AgentNotFoundError);
    const bad = new AgentMessaging({ baseUrl: stack.apiUrl, token: 'am_org_nope' });
    await expect(bad.agents.list()).rejects.toBeInstanceOf(AuthError);
  });

  it('delivers one-way messages to a createAgentHandler endpoint, verified and deduped', async () => {
    const received: unknown[] = [];
    const bob = await agent('bob', { onMessage: (message) => void received.push(message.content) });
    const alice = await agent('alice');
    const sent = await alice.client.messages.send(bob.id, { hi: 'bob' }, { idempotencyKey: 'k1' });
    await eventually(async () => received.length === 1);
    expect(received).toEqual([{ hi: 'bob' }]);
    expect((await alice.client.messages.get(sent.id)).message.status).toBe('delivered');
    await expect(
      alice.client.messages.send(bob.id, 'other', { idempotencyKey: 'k1' }),
    ).rejects.toBeInstanceOf(IdempotencyConflictError);
  });

  it('sync: onSyncRequest answers inline; busy, timeout and ended are typed errors', async () => {
    const expert = await agent('expert', {
      onSyncRequest: (message) => ({ answer: `re: ${message.content}` }),
    });
    const asker = await agent('asker');
    const { reply, sessionId } = await asker.client.sync.sendAndWait(expert.id, 'question', {
      timeoutMs: 5_000,
    });
    expect(reply.content).toEqual({ answer: 're: question' });

    const silent = await agent('silent');
    // Each expectation is attached as its request starts: a rejection must never be left unhandled
    // while the test does something else.
    const timedOut = expect(
      asker.client.sync.sendAndWait(silent.id, 'hello?', { timeoutMs: 1_500 }),
    ).rejects.toBeInstanceOf(TimeoutError);
    await eventually(async () => (await silent.client.inbox.read()).length > 0);
    await expect(
      asker.client.sync.sendAndWait(expert.id, 'second', { timeoutMs: 1_000 }),
    ).rejects.toBeInstanceOf(AgentBusyError);
    await timedOut;

    const ended = expect(
      asker.client.sync.sendAndWait(silent.id, 'still there?', { timeoutMs: 10_000 }),
    ).rejects.toBeInstanceOf(SessionEndedError);
    const [request] = await eventually(async () => {
      const messages = await silent.client.inbox.read();
      return messages.length > 1 && messages.slice(1);
    });
    await silent.client.sync.end(request?.sessionId as string);
    await ended;
    await asker.client.sync.end(sessionId);
  });

  it('async: getUnreadMessages acknowledges, waitForMessage waits, history pages', async () => {
    const a = await agent('a');
    const b = await agent('b');
    await a.client.async.send(b.id, 'one');
    await a.client.async.send(b.id, 'two');
    expect((await b.client.async.getUnreadMessages({ ack: false })).map((m) => m.content)).toEqual([
      'one',
      'two',
    ]);
    expect((await b.client.async.getUnreadMessages()).map((m) => m.content)).toEqual(['one', 'two']);
    expect(await b.client.async.getUnreadMessages()).toEqual([]);

    setTimeout(() => void a.client.async.send(b.id, 'three'), 200);
    expect((await b.client.async.waitForMessage({ from: a.id, timeoutMs: 5_000 }))?.content).toBe('three');
    expect(await b.client.async.waitForMessage({ timeoutMs: 300 })).toBeNull();
    expect((await a.client.async.getMessagesFromAgent(b.id)).map((m) => m.content)).toEqual([
      'one',
      'two',
      'three',
    ]);
  });

  it('resumeAgentHandler drains the inbox, replies to sync requests, acks only after handling', async () => {
    const a = await agent('a');
    const b = await agent('b');
    await a.client.async.send(b.id, 'while you were away');
    const pending = a.client.sync.sendAndWait(b.id, 'are you back?', { timeoutMs: 10_000 });
    await eventually(async () => (await b.client.inbox.read()).length === 2);

    let failOnce = true;
    const seen: unknown[] = [];
    const handlers = {
      onMessage: (message: { content: unknown }) => {
        if (failOnce) {
          failOnce = false;
          throw new Error('crashed mid-way');
        }
        seen.push(message.content);
      },
      onSyncRequest: (message: { content: unknown }) => `yes, re: ${message.content}`,
    };
    await expect(resumeAgentHandler(b.client, handlers)).rejects.toThrow('crashed mid-way');
    expect(await b.client.inbox.read()).toHaveLength(2); // nothing was lost
    expect(await resumeAgentHandler(b.client, handlers)).toBe(2);
    expect(seen).toEqual(['while you were away']);
    expect((await pending).reply.content).toBe('yes, re: are you back?');
    expect(await b.client.inbox.read()).toEqual([]);
  });

  it('meetings: lifecycle, typed refusals and the events iterator', async () => {
    const { host, guest, meeting } = await twoAgentMeeting('sdk');
    await host.client.meetings.start(meeting.id, 'hello');
    await expect(host.client.meetings.speak(meeting.id, 'me again')).rejects.toBeInstanceOf(NotYourTurnError);

    const seen: MeetingEvent[] = [];
    const watching = (async () => {
      for await (const event of guest.client.meetings.events(meeting.id)) seen.push(event);
    })();
    await guest.client.meetings.speak(meeting.id, 'hi');
    await host.client.meetings.end(meeting.id);
    await watching;
    expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
    expect(seen.at(-1)?.type).toBe('meeting_ended');
    expect((await guest.client.meetings.history(meeting.id)).map((m) => m.content)).toEqual([
      'hello',
      'hi',
      { event: 'meeting_ended', reason: 'host' },
    ]);
    expect((await org.meetings.status(meeting.id)).status).toBe('ended');
  });
  it('meetings: waitForTurn, typed on(), list, stats and whoami', async () => {
    const { host, guest, meeting } = await twoAgentMeeting('wait');
    expect((await guest.client.organizations.whoami()).agent?.id).toBe(guest.id);
    const turns: number[] = [];
    const subscription = guest.client.meetings.on(meeting.id, 'turn_started', (event) => {
      // Typed by the event type: data.turnNumber is a number, data.speakerId an agent id.
      turns.push(event.data.turnNumber);
    });
    // The host waits for its turn while the guest has it; it is not the host's before the start.
    const hostWaits = host.client.meetings.waitForTurn(meeting.id, { timeoutMs: 10_000 });
    await host.client.meetings.start(meeting.id);
    const guestTurn = await guest.client.meetings.waitForTurn(meeting.id);
    expect(guestTurn.meeting.currentSpeakerId).toBe(guest.id);
    expect(guestTurn.messages).toEqual([]); // nothing said since the start
    await guest.client.meetings.speak(meeting.id, 'over to you', { metadata: { mood: 'brief' } });
    const hostTurn = await hostWaits;
    expect([hostTurn.meeting.currentSpeakerId, hostTurn.meeting.turnNumber]).toEqual([host.id, 2]);
    // What was said since the host last had the floor (here: since the start).
    expect(hostTurn.messages.map((m) => [m.content, m.metadata])).toEqual([
      ['over to you', { mood: 'brief' }],
    ]);
    // The guest hears what was said since it last spoke, however the wait and the speech race.
    const guestWaits1 = guest.client.meetings.waitForTurn(meeting.id);
    await host.client.meetings.speak(meeting.id, 'back');
    expect((await guestWaits1).messages.map((m) => m.content)).toEqual(['back']);
    await guest.client.meetings.speak(meeting.id, 'done');
    // Not the guest's turn now: a short wait times out; an aborted one rejects with the reason.
    await expect(guest.client.meetings.waitForTurn(meeting.id, { timeoutMs: 300 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    const controller = new AbortController();
    const aborted = guest.client.meetings.waitForTurn(meeting.id, { signal: controller.signal });
    controller.abort(new Error('stop waiting'));
    await expect(aborted).rejects.toThrow('stop waiting');

    expect((await host.client.meetings.list({ role: 'host' })).meetings.map((m) => m.id)).toContain(
      meeting.id,
    );
    expect((await guest.client.meetings.list({ role: 'host' })).meetings).toEqual([]);
    const stats = await host.client.meetings.stats(meeting.id);
    expect(stats).toMatchObject({ turns: 4, messages: 3, timeouts: 0 });

    // The meeting ends: a waiter learns it, the subscription completes.
    const guestWaits = guest.client.meetings.waitForTurn(meeting.id);
    await host.client.meetings.end(meeting.id);
    await expect(guestWaits).rejects.toBeInstanceOf(MeetingNotActiveError);
    await subscription.done;
    expect(turns).toEqual([1, 2, 3, 4]);
  });

  it('meetings: a stale turnNumber, a finished meeting and a guest ending it are typed errors', async () => {
    const { host, guest, meeting } = await twoAgentMeeting('t');
    const started = await host.client.meetings.start(meeting.id);
    expect(started.meeting.currentSpeakerId).toBe(guest.id);
    const turn = started.meeting.turnNumber;
    await guest.client.meetings.speak(meeting.id, 'on time', { turnNumber: turn });
    await host.client.meetings.speak(meeting.id, 'back to you');
    // The guest's turn again, but this speech says it was for the turn already over.
    await expect(
      guest.client.meetings.speak(meeting.id, 'late', { turnNumber: turn }),
    ).rejects.toBeInstanceOf(TurnExpiredError);
    await expect(guest.client.meetings.end(meeting.id)).rejects.toBeInstanceOf(NotHostError);
    await host.client.meetings.end(meeting.id);
    await expect(host.client.meetings.speak(meeting.id, 'after')).rejects.toBeInstanceOf(
      MeetingNotActiveError,
    );
  });

  it('meetings.events resumes by seq across failed polls, and stops at once on an ended meeting', async () => {
    const { host, guest, meeting } = await twoAgentMeeting('e');
    await host.client.meetings.start(meeting.id, 'one');
    // Every other poll fails, alternately as a network error and as a 503 from a proxy.
    let polls = 0;
    const flaky = new AgentMessaging({
      baseUrl: stack.apiUrl,
      token: guest.token,
      fetch: async (input, init) => {
        if (String(input).includes('/events') && polls++ % 2 === 0) {
          if (polls % 4 === 1) throw new TypeError('connection reset');
          return new Response('upstream down', { status: 503 });
        }
        return fetch(input, init);
      },
    });
    const seen: MeetingEvent[] = [];
    const clients = new Map([
      [host.id, host.client],
      [guest.id, guest.client],
    ]);
    const watching = (async () => {
      for await (const event of flaky.meetings.events(meeting.id)) {
        seen.push(event);
        // Whoever's turn starts speaks in it, so events keep coming while polls fail.
        const speaker = clients.get((event.data as { speakerId?: string }).speakerId ?? '');
        if (event.type === 'turn_started' && speaker && seen.length < 20) {
          await speaker.meetings.speak(meeting.id, `after seq ${event.seq}`);
        }
      }
    })();
    await eventually(async () => seen.length >= 20, 20_000);
    await host.client.meetings.end(meeting.id);
    await watching;
    expect(polls).toBeGreaterThan(4);
    expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));
    expect(seen.at(-1)?.type).toBe('meeting_ended');

    // Resuming after the end returns at once, and so does a fresh watcher from the start.
    const afterEnd: MeetingEvent[] = [];
    for await (const event of guest.client.meetings.events(meeting.id, { after: seen.length }))
      afterEnd.push(event);
    expect(afterEnd).toEqual([]);
    const replay: MeetingEvent[] = [];
    for await (const event of guest.client.meetings.events(meeting.id)) replay.push(event);
    expect(replay).toEqual(seen);
  });

  it('meetings.history reads every page', async () => {
    const { host, guest, meeting } = await twoAgentMeeting('h');
    await host.client.meetings.start(meeting.id, 'opening');
    // 520 turns ran out while nobody was there: more history than one page holds.
    await stack.sql.query(
      `UPDATE meetings SET turn_ends_at = now() - interval '31170 seconds' WHERE id = $1`,
      [meeting.id],
    );
    await eventually(async () => (await host.client.meetings.status(meeting.id)).turnNumber > 520);
    const history = await guest.client.meetings.history(meeting.id);
    expect(history).toHaveLength(521);
    expect(history[0]?.content).toBe('opening');
    expect(history.slice(1).every((m) => m.kind === 'timeout')).toBe(true);
    expect(new Set(history.map((m) => m.id)).size).toBe(521);
  });
});
