import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEndpoint } from '../helpers/endpoint';
import { agents, meetingApi, readyMeeting } from '../helpers/meetings';
import {
  createAgent,
  createOrganization,
  eventually,
  startTestStack,
  type TestStack,
} from '../helpers/stack';

// The sweeper's clock: a Durable Object whose alarm is set for the earliest pending deadline by
// the writes that leave one, with the cron as a safety net. Nothing here fires the cron unless a
// test says so, and nothing reads through the API while a deadline is pending (a read would
// apply an overdue turn itself): the database is read directly.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function turnEndsAt(stack: TestStack, meetingId: string): Promise<number> {
  const { rows } = await stack.sql.query('SELECT turn_ends_at FROM meetings WHERE id = $1', [meetingId]);
  return rows[0].turn_ends_at.getTime();
}

async function timeouts(stack: TestStack, meetingId: string): Promise<{ created_at: Date }[]> {
  const { rows } = await stack.sql.query(
    `SELECT created_at FROM meeting_events WHERE meeting_id = $1 AND type = 'turn_timed_out' ORDER BY seq`,
    [meetingId],
  );
  return rows;
}

/** A meeting of two new agents, started: its first turn is pending. */
async function startedMeeting(stack: TestStack, orgKey: string, turnDurationMs: number) {
  const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
  if (!host || !bob) throw new Error('agents');
  const api = meetingApi(stack, await readyMeeting(stack, host, [bob], { turnDurationMs }));
  await api.act(host, 'start');
  return { api, host };
}

describe('the ticker, armed by the writes', () => {
  let stack: TestStack;
  let orgKey: string;

  beforeAll(async () => {
    stack = await startTestStack({}, { ticker: true, ownEdge: true });
    orgKey = (await createOrganization(stack)).apiKey;
  });
  afterAll(() => stack?.stop());

  it('a turn times out at its end with nobody calling, and with nothing pending the clock stops and the database is left alone', async () => {
    const { api, host } = await startedMeeting(stack, orgKey, 1_000);
    const firstDeadline = await turnEndsAt(stack, api.id);
    // The start armed the alarm for the turn's end: no cron has fired.
    expect(await eventually(() => stack.tickerAlarm())).toBe(firstDeadline);

    const [timedOut] = await eventually(async () => {
      const found = await timeouts(stack, api.id);
      return found.length > 0 && found;
    });
    expect(timedOut?.created_at.getTime()).toBeGreaterThanOrEqual(firstDeadline);
    // The pass that applied it set the alarm for the next turn's end.
    const nextDeadline = await turnEndsAt(stack, api.id);
    expect(nextDeadline).toBe(firstDeadline + 1_000);
    expect(await eventually(async () => (await stack.tickerAlarm()) === nextDeadline)).toBe(true);

    // Ended, the meeting leaves no deadline: the alarm's next pass finds none and sets no other.
    expect((await api.act(host, 'end')).status).toBe(200);
    await eventually(async () => (await stack.tickerAlarm()) === null, 5_000);
    const before = stack.edgeStats().allRoundTrips;
    await sleep(3_000);
    expect(stack.edgeStats().allRoundTrips).toBe(before);
    expect(await stack.tickerAlarm()).toBeNull();
  });

  it('turns of several meetings are timed out with nobody calling, each turn once and in order', async () => {
    const [host, ...others] = await agents(stack, orgKey, ['host', 'a', 'b', 'c']);
    if (!host) throw new Error('agents');
    const ids = [];
    for (const other of others) ids.push(await readyMeeting(stack, host, [other], { turnDurationMs: 800 }));
    await Promise.all(ids.map((id) => meetingApi(stack, id).act(host, 'start')));
    for (const id of ids) {
      const [first, second] = await eventually(async () => {
        const found = await timeouts(stack, id);
        return found.length >= 2 && found;
      });
      expect(second?.created_at.getTime()).toBeGreaterThan(first?.created_at.getTime() ?? Infinity);
      const { rows } = await stack.sql.query(
        `SELECT array_agg(data->>'turnNumber' ORDER BY seq) AS turns FROM meeting_events
         WHERE meeting_id = $1 AND type = 'turn_timed_out'`,
        [id],
      );
      // Each turn timed out once, in order.
      expect(rows[0].turns.slice(0, 2)).toEqual(['1', '2']);
      expect((await meetingApi(stack, id).act(host, 'end')).status).toBe(200);
    }
  });

  it("a failed push is retried at its retry time, by the alarm the push's own invocation set", async () => {
    let calls = 0;
    const flaky = await startEndpoint(async () => {
      calls += 1;
      return calls === 1 ? new Response('down', { status: 503 }) : Response.json({});
    });
    try {
      const sender = await createAgent(stack, orgKey, { name: 'sender' });
      const receiver = await createAgent(stack, orgKey, { name: 'receiver', endpointUrl: flaky.url });
      const sent = await stack.call('POST', '/v1/messages', {
        token: sender.token,
        body: { to: receiver.id, content: 'hello' },
      });
      expect(sent.status).toBe(202);
      const messageId = sent.body.message.id;
      const delivered = await eventually(async () => {
        const { rows } = await stack.sql.query(
          `SELECT d.status, d.attempts FROM deliveries d WHERE d.message_id = $1`,
          [messageId],
        );
        return rows[0]?.status === 'delivered' && rows[0];
      });
      expect(delivered.attempts).toBe(2);
      expect(flaky.received).toHaveLength(2);
      expect(flaky.received[1]?.headers['webhook-id']).toBe(flaky.received[0]?.headers['webhook-id']);
    } finally {
      await flaky.close();
    }
  });
});

describe('when the arm is lost', () => {
  let stack: TestStack;
  let orgKey: string;

  beforeAll(async () => {
    // The api cannot reach the ticker: every arm a write makes is lost.
    stack = await startTestStack({}, { ticker: 'sweeper-only' });
    orgKey = (await createOrganization(stack)).apiKey;
  });
  afterAll(() => stack?.stop());

  it("the cron's safety-net pass applies the deadline and arms the ticker, which applies the next one by itself", async () => {
    const { api } = await startedMeeting(stack, orgKey, 1_500);
    const firstDeadline = await turnEndsAt(stack, api.id);
    await sleep(firstDeadline + 300 - Date.now());
    // Past the deadline and nobody applied it: the ticker never heard of it.
    expect(await timeouts(stack, api.id)).toHaveLength(0);
    expect(await stack.tickerAlarm()).toBeNull();

    await stack.sweep();
    expect(await timeouts(stack, api.id)).toHaveLength(1);
    const nextDeadline = await turnEndsAt(stack, api.id);
    expect(await stack.tickerAlarm()).toBe(nextDeadline);
    // No cron from here: the ticker applies the next turn's timeout.
    await eventually(async () => (await timeouts(stack, api.id)).length >= 2);
  });
});
