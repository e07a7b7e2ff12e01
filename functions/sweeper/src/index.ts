import {
  callDispatcher,
  describeForLog,
  dispatcherOf,
  expireWaits,
  forgetExpiredIdempotencyKeys,
  handOff,
  loadConfig,
  openDb,
  type ServiceBinding,
  sweepMeetings,
} from '@agent-messaging/core';

type SweeperEnv = Record<string, unknown> & { DISPATCHER?: ServiceBinding; Dispatcher?: ServiceBinding };
type Config = ReturnType<typeof loadConfig>;

/** Dispatcher calls per delivery pass: each claims a batch and delivers it with bounded concurrency. */
const PARALLEL_DISPATCHES = 4;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `pass` at least once, then again every `stepMs` until `deadline` (at once when it says
 * there is more to do right now).
 */
async function loopUntil(deadline: number, stepMs: number, pass: () => Promise<boolean>) {
  for (;;) {
    const more = await pass();
    if (Date.now() >= deadline) return;
    if (more) continue;
    if (Date.now() + stepMs >= deadline) return;
    await sleep(stepMs);
  }
}

/**
 * Timeouts (they are data, not timers): expired sync waits and overdue meeting turns, then old
 * idempotency keys. What they produce is handed to the dispatcher without waiting for the agents,
 * so a slow endpoint never delays the next timeout. True when a full batch of meetings was found.
 */
async function timeoutPass(env: SweeperEnv, config: Config, handOffs: Promise<void>[]): Promise<boolean> {
  const { db, close } = openDb(config);
  try {
    await db.transaction((tx) => expireWaits(tx));
    const meetings = await sweepMeetings(db, config);
    handOffs.push(handOff(dispatcherOf(env), meetings.deliveryIds, config.DISPATCH_BATCH));
    await forgetExpiredIdempotencyKeys(db);
    return meetings.more;
  } catch (error) {
    console.error('sweep: applying timeouts failed:', describeForLog(error));
    return false;
  } finally {
    await close();
  }
}

/** Asks the dispatcher to claim and deliver what is due. True when a batch came back full. */
async function deliveryPass(env: SweeperEnv, config: Config): Promise<boolean> {
  const results = await Promise.allSettled(
    Array.from({ length: PARALLEL_DISPATCHES }, () =>
      callDispatcher(dispatcherOf(env), { limit: config.DISPATCH_BATCH }),
    ),
  );
  let full = false;
  for (const result of results) {
    if (result.status === 'rejected') console.error('sweep: dispatcher call failed', String(result.reason));
    else if (result.value.claimed >= config.DISPATCH_BATCH) full = true;
  }
  return full;
}

/**
 * A cron fires at most once a minute in the cloud, so one run loops in steps of SWEEP_STEP_MS for
 * up to SWEEP_BUDGET_MS; locally the stack fires it every second with a budget of 0 (one pass).
 * Timeouts and deliveries loop side by side: a delivery pass waits on agents' endpoints, and must
 * not hold up the timeouts. Delivery passes stop starting one request timeout before the end, so
 * the run ends within its budget.
 */
export async function sweep(env: SweeperEnv): Promise<void> {
  const config = loadConfig(env);
  const deadline = Date.now() + config.SWEEP_BUDGET_MS;
  const handOffs: Promise<void>[] = [];
  await Promise.all([
    loopUntil(deadline, config.SWEEP_STEP_MS, () => timeoutPass(env, config, handOffs)),
    loopUntil(deadline - config.DELIVERY_TIMEOUT_MS, config.SWEEP_STEP_MS, () => deliveryPass(env, config)),
  ]);
  await Promise.all(handOffs);
}

export default {
  async scheduled(_controller: unknown, env: SweeperEnv) {
    await sweep(env);
  },
};
