import {
  armTicker,
  type Config,
  callDispatcher,
  describeForLog,
  dispatcherOf,
  earliest,
  earliestWake,
  handOff,
  leaseMs,
  loadConfig,
  openDb,
  type ServiceBinding,
  type SweepPass,
  sweepPass,
  type TickerNamespace,
  tickerOf,
  type Wake,
} from '@agent-messaging/core';

type SweeperEnv = Record<string, unknown> & {
  DISPATCHER?: ServiceBinding;
  Dispatcher?: ServiceBinding;
  SweepTicker?: TickerNamespace;
};

/** Dispatcher calls per pass for due deliveries: each claims a batch and delivers it with bounded concurrency. */
const PARALLEL_DISPATCHES = 4;

/** A dispatcher call that failed is tried again this much later. */
const RETRY_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks the dispatcher to claim and deliver what is due, one call per batch due (at most
 * PARALLEL_DISPATCHES). A full batch means more is due now; the dispatcher's deadlines go to `wake`.
 */
async function dispatchDue(env: SweeperEnv, config: Config, due: number, wake: Wake): Promise<void> {
  const calls = Math.min(PARALLEL_DISPATCHES, Math.ceil(due / config.DISPATCH_BATCH));
  await Promise.all(
    Array.from({ length: calls }, async () => {
      try {
        const result = await callDispatcher(dispatcherOf(env), { limit: config.DISPATCH_BATCH });
        wake(result.claimed >= config.DISPATCH_BATCH ? Date.now() : result.wakeAt);
      } catch (error) {
        console.error('sweep: dispatcher call failed', String(error));
        wake(Date.now() + RETRY_MS);
      }
    }),
  );
}

/**
 * One pass (`sweepPass`: timeouts applied, the next deadline read), then what is due handed to the
 * dispatcher without waiting for the agents (`handOffs`), so a slow endpoint never delays a
 * timeout. `wakeAt` is the pass's next deadline, with the leases of its hand-offs (a dispatcher may
 * die holding them); the deadlines the dispatcher leaves go to `wake` as it answers.
 */
export async function sweepOnce(
  env: SweeperEnv,
  wake: Wake,
): Promise<{ pass: SweepPass; wakeAt: number | null; handOffs: Promise<unknown> }> {
  const config = loadConfig(env);
  const { db, close } = openDb(config);
  let pass: SweepPass;
  try {
    pass = await sweepPass(db, config, { dueDeliveries: PARALLEL_DISPATCHES * config.DISPATCH_BATCH });
  } finally {
    await close();
  }
  const handing = pass.deliveryIds.length > 0 || pass.dueDeliveries > 0;
  const handOffs = Promise.all([
    handOff(dispatcherOf(env), pass.deliveryIds, config.DISPATCH_BATCH, wake),
    dispatchDue(env, config, pass.dueDeliveries, wake),
  ]);
  const wakeAt = pass.more
    ? Date.now()
    : earliest(pass.wakeAt, handing ? Date.now() + leaseMs(config) : null);
  return { pass, wakeAt, handOffs };
}

/**
 * Without the ticker bound, a cron run sweeps for `budgetMs`, a pass every SWEEP_STEP_MS (at once
 * when a batch was full), so timeouts wait at most for the rest of the cron's interval.
 */
export async function sweepFor(env: SweeperEnv, budgetMs: number): Promise<void> {
  const { SWEEP_STEP_MS } = loadConfig(env);
  const deadline = Date.now() + budgetMs;
  const handOffs: Promise<unknown>[] = [];
  for (;;) {
    let more = false;
    try {
      const swept = await sweepOnce(env, () => {});
      handOffs.push(swept.handOffs);
      more = swept.pass.more;
    } catch (error) {
      console.error('sweep failed:', describeForLog(error));
    }
    if (Date.now() >= deadline || (!more && Date.now() + SWEEP_STEP_MS >= deadline)) break;
    if (!more) await sleep(SWEEP_STEP_MS);
  }
  await Promise.all(handOffs);
}

/** What a Durable Object is given by the runtime: its storage (the alarm, a number) and waitUntil. */
interface TickerState {
  storage: {
    getAlarm(): Promise<number | null>;
    setAlarm(at: number): Promise<void>;
    deleteAlarm(): Promise<void>;
    get<T>(key: string): Promise<T | undefined>;
    put(key: string, value: unknown): Promise<void>;
  };
  waitUntil?(promise: Promise<unknown>): void;
}

/** The latest alarm time the ticker answered anyone: it keeps a pass coming at or after it. */
const PROMISED = 'promised';

/** The soonest an alarm is set after a pass, so a clock skewed from the database's cannot spin. */
const MIN_GAP_MS = 10;

/** A pass that failed (the database away) is tried again after this, doubling up to a minute. */
const FAILED_PASS_RETRY_MS = 1_000;

/**
 * The sweeper's clock: a Durable Object whose alarm is set for the earliest pending deadline. Its
 * pass applies what is due and reads the next deadline in the same round trip; with nothing
 * pending no alarm is set, and nothing queries the database. Writes that leave an earlier deadline
 * arm it (`POST /arm?at=`, from the api, cached per isolate: see `armTicker`); the cron's safety net
 * arms it too. Alarms are durable and retried by the runtime.
 */
export class SweepTicker {
  /** Alarm changes run one at a time: a pass's end and the arms that come in meanwhile. */
  private serial: Promise<unknown> = Promise.resolve();
  private passing = false;
  /** Deadlines armed while a pass runs, which the alarm set at its end must not pass over. */
  private armedDuringPass: number | null = null;
  private failedPasses = 0;

  constructor(
    private readonly state: TickerState,
    private readonly env: SweeperEnv,
  ) {}

  private inTurn<T>(change: () => Promise<T>): Promise<T> {
    const result = this.serial.then(change);
    this.serial = result.catch(() => undefined);
    return result;
  }

  /** `POST /arm?at=<epoch ms>` arms it; `GET /alarm` tells when it will pass next (null: idle). */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === 'GET' && url.pathname === '/alarm') {
      return Response.json({ alarm: await this.state.storage.getAlarm() });
    }
    const at = Number(url.searchParams.get('at'));
    if (request.method !== 'POST' || url.pathname !== '/arm' || !Number.isSafeInteger(at)) {
      return Response.json({ error: 'POST /arm?at=<epoch ms> or GET /alarm' }, { status: 400 });
    }
    return Response.json({ alarm: await this.arm(at) });
  }

  /**
   * Sets the alarm for `at` unless it is set earlier, and answers the alarm now set, which is a
   * promise: a pass will run at or after it (`PROMISED` keeps the latest such answer).
   */
  arm(at: number): Promise<number> {
    return this.inTurn(async () => {
      const { storage } = this.state;
      if (this.passing) this.armedDuringPass = earliest(this.armedDuringPass, at);
      let alarm = await storage.getAlarm();
      if (alarm === null || at < alarm) {
        await storage.setAlarm(at);
        alarm = at;
      }
      if (alarm > ((await storage.get<number>(PROMISED)) ?? 0)) await storage.put(PROMISED, alarm);
      return alarm;
    });
  }

  async alarm(): Promise<void> {
    this.passing = true;
    this.armedDuringPass = null;
    let wakeAt: number | null;
    try {
      const swept = await sweepOnce(this.env, (at) => {
        if (at !== null) void this.arm(at);
      });
      this.state.waitUntil?.(swept.handOffs);
      wakeAt = swept.wakeAt;
      this.failedPasses = 0;
    } catch (error) {
      console.error('sweep failed:', describeForLog(error));
      wakeAt = Date.now() + Math.min(60_000, FAILED_PASS_RETRY_MS * 2 ** this.failedPasses++);
    }
    await this.inTurn(async () => {
      const { storage } = this.state;
      const promised = (await storage.get<number>(PROMISED)) ?? 0;
      const next = earliest(wakeAt, this.armedDuringPass, promised > Date.now() ? promised : null);
      this.passing = false;
      if (next === null) await storage.deleteAlarm();
      else await storage.setAlarm(Math.max(next, Date.now() + MIN_GAP_MS));
    });
  }
}

export default {
  /**
   * The cron, the safety net (every 10 minutes in the cloud): one pass, then the ticker is armed
   * for the deadline the pass found, in case the write that left it could not arm it. Without the
   * ticker bound, the run loops for SWEEP_BUDGET_MS instead.
   */
  async scheduled(_controller: unknown, env: SweeperEnv) {
    const ticker = tickerOf(env);
    if (!ticker) {
      await sweepFor(env, loadConfig(env).SWEEP_BUDGET_MS);
      return;
    }
    const later = earliestWake();
    try {
      const swept = await sweepOnce(env, later.wake);
      await swept.handOffs;
      await armTicker(ticker, earliest(swept.wakeAt, later.wakeAt));
    } catch (error) {
      console.error('sweep failed:', describeForLog(error));
    }
  },
};
