import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEndpoint } from '../helpers/endpoint';
import { agents, meetingApi, readyMeeting } from '../helpers/meetings';
import {
  createAgent,
  createOrganization,
  eventually,
  insertUndispatched,
  startTestStack,
  type TestStack,
} from '../helpers/stack';

// The sweeper's two clocks: a cron run that loops for its budget (without a ticker), and the
// SweepTicker Durable Object that the cron arms.
let stack: TestStack;
let orgKey: string;

beforeAll(async () => {
  stack = await startTestStack({ SWEEP_BUDGET_MS: '2500', SWEEP_STEP_MS: '50', DELIVERY_TIMEOUT_MS: '2000' });
  orgKey = (await createOrganization(stack)).apiKey;
});
afterAll(() => stack?.stop());

it('one run applies a turn that falls due during it, while a delivery to a slow endpoint is still pending', async () => {
  const slowEndpoint = await startEndpoint(async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    return Response.json({});
  });
  const [host, bob] = await agents(stack, orgKey, ['host', 'bob']);
  const slow = await createAgent(stack, orgKey, { name: 'slow', endpointUrl: slowEndpoint.url });
  if (!host || !bob) throw new Error('agents');
  const api = meetingApi(stack, await readyMeeting(stack, host, [bob], { turnDurationMs: 600 }));
  await api.act(host, 'start');
  const [due] = await insertUndispatched(stack, host.id, slow.id, 'slow');

  await stack.sweep();

  // Read the rows directly: an API read would apply the timeout itself.
  const timedOut = await stack.sql.query(
    `SELECT created_at FROM meeting_events WHERE meeting_id = $1 AND type = 'turn_timed_out'`,
    [api.id],
  );
  const attempt = await stack.sql.query(
    'SELECT started_at, duration_ms FROM delivery_attempts WHERE delivery_id = $1',
    [due?.id],
  );
  expect(slowEndpoint.received).toHaveLength(1);
  expect(attempt.rows).toHaveLength(1);
  const answeredAt = attempt.rows[0].started_at.getTime() + attempt.rows[0].duration_ms;
  // The turn timed out within the same run, before the slow endpoint had even answered.
  expect(timedOut.rows.length).toBeGreaterThanOrEqual(1);
  expect(timedOut.rows[0].created_at.getTime()).toBeLessThan(answeredAt);
  await slowEndpoint.close();
});

it('the ticker, once the cron armed it, applies timeouts every step with nobody calling, whatever endpoints hang', async () => {
  const ticking = await startTestStack(
    { SWEEP_STEP_MS: '100', DELIVERY_TIMEOUT_MS: '30000' },
    { ticker: true },
  );
  const hanging = await startEndpoint(() => new Promise<Response>(() => {}));
  try {
    const key = (await createOrganization(ticking)).apiKey;
    const [host, bob] = await agents(ticking, key, ['host', 'bob']);
    if (!host || !bob) throw new Error('agents');
    const stuck = await createAgent(ticking, key, { name: 'stuck', endpointUrl: hanging.url });
    const api = meetingApi(ticking, await readyMeeting(ticking, host, [bob], { turnDurationMs: 300 }));
    await api.act(host, 'start');
    await ticking.sweep(); // the cron's run: it arms the ticker
    // An agent whose endpoint never answers, with a delivery due that only the ticker will try.
    await insertUndispatched(ticking, host.id, stuck.id, 'stuck');
    // No API call and no cron from here: only the ticker can move the meeting on, while a pass
    // waits up to 30 s on the hanging endpoint.
    const turn = async () =>
      (await ticking.sql.query('SELECT turn_number FROM meetings WHERE id = $1', [api.id])).rows[0]
        .turn_number;
    await eventually(async () => (await turn()) >= 4, 10_000);
    const { rows } = await ticking.sql.query(
      `SELECT count(*)::int AS n FROM meeting_events WHERE meeting_id = $1 AND type = 'turn_timed_out'`,
      [api.id],
    );
    expect(rows[0].n).toBeGreaterThanOrEqual(3);
    expect(hanging.received.length).toBeGreaterThanOrEqual(1);
  } finally {
    await ticking.stop();
    await hanging.close();
  }
});
