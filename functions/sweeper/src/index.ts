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

/** Dispatcher calls per sweep step: each claims a batch and delivers it with bounded concurrency. */
const PARALLEL_DISPATCHES = 4;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks the dispatcher to claim and deliver due deliveries. True when a batch came back full,
 * i.e. there is probably more due right now.
 */
async function sweepDeliveries(dispatcher: ServiceBinding, batch: number): Promise<boolean> {
  const results = await Promise.allSettled(
    Array.from({ length: PARALLEL_DISPATCHES }, () => callDispatcher(dispatcher, { limit: batch })),
  );
  let full = false;
  for (const result of results) {
    if (result.status === 'rejected') console.error('sweep: dispatcher call failed', String(result.reason));
    else if (result.value.claimed >= batch) full = true;
  }
  return full;
}

/** One step: time-outs first (they are data, not timers), expired idempotency keys, then due deliveries. */
async function step(env: SweeperEnv, config: ReturnType<typeof loadConfig>): Promise<boolean> {
  const { db, close } = openDb(config);
  try {
    await db.transaction((tx) => expireWaits(tx));
    const { deliveryIds } = await sweepMeetings(db, config);
    await handOff(dispatcherOf(env), deliveryIds, config.DISPATCH_BATCH);
    await forgetExpiredIdempotencyKeys(db);
  } catch (error) {
    console.error('sweep: applying timeouts failed:', describeForLog(error));
  } finally {
    await close();
  }
  return sweepDeliveries(dispatcherOf(env), config.DISPATCH_BATCH);
}

/**
 * A cron fires at most once a minute in the cloud, so one run loops in short steps for up to
 * SWEEP_BUDGET_MS; locally the stack fires it every second with a budget of 0 (a single pass).
 * A step that finds a full batch goes again at once (within the budget).
 */
export async function sweep(env: SweeperEnv): Promise<void> {
  const config = loadConfig(env);
  const deadline = Date.now() + config.SWEEP_BUDGET_MS;
  for (;;) {
    const more = await step(env, config);
    if (Date.now() >= deadline) return;
    if (more) continue;
    if (Date.now() + config.SWEEP_STEP_MS >= deadline) return;
    await sleep(config.SWEEP_STEP_MS);
  }
}

export default {
  async scheduled(_controller: unknown, env: SweeperEnv) {
    await sweep(env);
  },
};
