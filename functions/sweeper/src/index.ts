import {
  callDispatcher,
  countDueDeliveries,
  describeForLog,
  dispatcherOf,
  EXPIRE_BATCH,
  expireWaits,
  forgetExpiredIdempotencyKeys,
  handOff,
  loadConfig,
  openDb,
  type ServiceBinding,
  sweepMeetings,
} from '@agent-messaging/core';

/** The ticker's Durable Object namespace, as bound to the worker (`SweepTicker`, locally and by SST). */
interface TickerNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(url: string): Promise<Response> };
}

type SweeperEnv = Record<string, unknown> & {
  DISPATCHER?: ServiceBinding;
  Dispatcher?: ServiceBinding;
  SweepTicker?: TickerNamespace;
};
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
    const expired = await expireWaits(db);
    const meetings = await sweepMeetings(db, config);
    handOffs.push(handOff(dispatcherOf(env), meetings.deliveryIds, config.DISPATCH_BATCH));
    await forgetExpiredIdempotencyKeys(db);
    return meetings.more || expired.length >= EXPIRE_BATCH;
  } catch (error) {
    console.error('sweep: applying timeouts failed:', describeForLog(error));
    return false;
  } finally {
    await close();
  }
}

/**
 * Asks the dispatcher to claim and deliver what is due, one call per batch due (at most
 * PARALLEL_DISPATCHES); none when nothing is due, so an idle clock costs one light query a step.
 * True when more may be due right now.
 */
async function deliveryPass(env: SweeperEnv, config: Config): Promise<boolean> {
  const { db, close } = openDb(config);
  let due: number;
  try {
    due = await countDueDeliveries(db, PARALLEL_DISPATCHES * config.DISPATCH_BATCH);
  } catch (error) {
    console.error('sweep: counting due deliveries failed:', describeForLog(error));
    return false;
  } finally {
    await close();
  }
  const calls = Math.min(PARALLEL_DISPATCHES, Math.ceil(due / config.DISPATCH_BATCH));
  const results = await Promise.allSettled(
    Array.from({ length: calls }, () => callDispatcher(dispatcherOf(env), { limit: config.DISPATCH_BATCH })),
  );
  let full = false;
  for (const result of results) {
    if (result.status === 'rejected') console.error('sweep: dispatcher call failed', String(result.reason));
    else if (result.value.claimed >= config.DISPATCH_BATCH) full = true;
  }
  return full;
}

/**
 * Sweeps for `budgetMs` in steps of SWEEP_STEP_MS (one pass with a budget of 0). Timeouts and
 * deliveries loop side by side: a delivery pass waits on agents' endpoints, and must not hold up
 * the timeouts. Delivery passes stop starting one request timeout before the end, so the run ends
 * within its budget.
 */
export async function sweep(env: SweeperEnv, budgetMs: number): Promise<void> {
  const config = loadConfig(env);
  const deadline = Date.now() + budgetMs;
  const handOffs: Promise<void>[] = [];
  await Promise.all([
    loopUntil(deadline, config.SWEEP_STEP_MS, () => timeoutPass(env, config, handOffs)),
    loopUntil(deadline - config.DELIVERY_TIMEOUT_MS, config.SWEEP_STEP_MS, () => deliveryPass(env, config)),
  ]);
  await Promise.all(handOffs);
}

/** What a Durable Object is given by the runtime; only its alarm is used. */
interface TickerState {
  storage: { getAlarm(): Promise<number | null>; setAlarm(at: number): Promise<void> };
}

/**
 * The sweeper's clock: a Durable Object whose alarm makes one pass every SWEEP_STEP_MS and sets
 * the next alarm, so timeouts are applied about a second late at most, where a cron alone fires
 * once a minute. Alarms are durable and retried by the runtime; the cron re-arms a broken chain.
 */
export class SweepTicker {
  constructor(
    private readonly state: TickerState,
    private readonly env: SweeperEnv,
  ) {}

  /** Arms the alarm unless it is armed (the cron calls this every minute). */
  async fetch(): Promise<Response> {
    if ((await this.state.storage.getAlarm()) === null) await this.state.storage.setAlarm(Date.now());
    return new Response(null, { status: 204 });
  }

  async alarm(): Promise<void> {
    const stepMs = loadConfig(this.env).SWEEP_STEP_MS;
    // The next alarm first: a pass that fails must not stop the clock.
    await this.state.storage.setAlarm(Date.now() + stepMs);
    // A pass may wait on agents' endpoints (its deliveries); the clock must not, or one slow agent
    // would hold up every timeout. Past one step the pass finishes beside the next alarm (the
    // object stays alive while it ticks; a delivery cut short comes back when its lease ends).
    const pass = sweep(this.env, 0).catch((error) => console.error('sweep failed:', describeForLog(error)));
    await Promise.race([pass, sleep(stepMs)]);
  }
}

export default {
  /**
   * The cron, once a minute in the cloud. With the ticker bound it (re-)arms the ticker and makes
   * one pass; without it, the run loops for SWEEP_BUDGET_MS, so timeouts wait at most for the
   * rest of the minute.
   */
  async scheduled(_controller: unknown, env: SweeperEnv) {
    const ticker = env.SweepTicker;
    if (!ticker) {
      await sweep(env, loadConfig(env).SWEEP_BUDGET_MS);
      return;
    }
    try {
      await ticker.get(ticker.idFromName('sweeper')).fetch('https://ticker/arm');
    } catch (error) {
      console.error('sweep: could not arm the ticker:', describeForLog(error));
    }
    await sweep(env, 0);
  },
};
