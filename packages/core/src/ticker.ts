import { describeForLog } from './error-chain';

/**
 * The sweeper's clock, a Durable Object (`SweepTicker`, exported by the sweeper) whose alarm is set
 * for the earliest pending deadline. A write that leaves a deadline (a turn's end, a sync wait, a
 * retry, a claim's lease) tells it with `armTicker`; the alarm's pass applies what is due and reads
 * the next deadline from the database.
 */
export interface TickerNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(url: string, init?: RequestInit): Promise<Response> };
}

/**
 * The ticker's binding: `SweepTicker` in the sweeper (the class's own worker) and locally; `Ticker`
 * where SST links it into another worker (a binding to the sweeper's class, sst.config.ts).
 */
export function tickerOf(env: { SweepTicker?: unknown; Ticker?: unknown }): TickerNamespace | undefined {
  return (env.SweepTicker ?? env.Ticker) as TickerNamespace | undefined;
}

/** The one ticker object of a deployment. */
export const tickerStub = (ticker: TickerNamespace) => ticker.get(ticker.idFromName('sweeper'));

/** The earliest of some deadlines (epoch ms); null when there is none. */
export function earliest(...deadlines: (number | null | undefined)[]): number | null {
  let min: number | null = null;
  for (const deadline of deadlines) {
    if (deadline !== null && deadline !== undefined && (min === null || deadline < min)) min = deadline;
  }
  return min;
}

/**
 * The alarm time the ticker last answered this isolate. The ticker promises a pass at or after
 * every time it answers, and a pass sees every write committed before it: so while that time is
 * still ahead, a deadline at or after it needs no call (its write committed before the pass).
 */
let answeredAlarm: number | null = null;

/**
 * Tells the ticker about a deadline (epoch ms) unless it will pass by then anyway. Never throws: a
 * lost call delays the deadline to the next request that applies it lazily, or to the cron's
 * safety-net pass, which re-arms the ticker.
 */
export async function armTicker(ticker: TickerNamespace | undefined, at: number | null): Promise<void> {
  if (!ticker || at === null) return;
  if (answeredAlarm !== null && answeredAlarm > Date.now() && answeredAlarm <= at) return;
  try {
    const response = await tickerStub(ticker).fetch(`https://ticker/arm?at=${Math.floor(at)}`, {
      method: 'POST',
    });
    if (!response.ok) throw new Error(`the ticker answered ${response.status}`);
    const { alarm } = (await response.json()) as { alarm: number };
    answeredAlarm = alarm;
  } catch (error) {
    console.error('could not arm the sweeper ticker:', describeForLog(error));
  }
}

/** Where a write reports a deadline it left (epoch ms): to the ticker, or up to whoever called. */
export type Wake = (at: number | null) => void;

/** A `Wake` that keeps the earliest deadline reported, for a caller to pass on. */
export function earliestWake(): { wake: Wake; readonly wakeAt: number | null } {
  let wakeAt: number | null = null;
  return {
    wake: (at) => {
      wakeAt = earliest(wakeAt, at);
    },
    get wakeAt() {
      return wakeAt;
    },
  };
}
