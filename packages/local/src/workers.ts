import type { Readable } from 'node:stream';
import { RATE_LIMITS } from '@agent-messaging/core';
import { Miniflare } from 'miniflare';
import { prepareApiAssets } from './api-assets';
import type { WorkerName } from './build';

/** The Workers runtime the functions are written for; sst.config.ts deploys with the same. */
export const COMPATIBILITY = { date: '2026-04-01', flags: ['nodejs_compat'] };

/** The sweeper's cron in the cloud (sst.config.ts): the safety net, every 10 minutes. */
export const SWEEPER_CRON = '*/10 * * * *';

export interface LocalWorkers {
  mf: Miniflare;
  apiUrl: string;
  /** Fires the sweeper's scheduled handler once, as the cron does. */
  sweep: () => Promise<void>;
  /** When the sweeper's ticker will pass next (epoch ms), null when idle; needs `ticker`. */
  tickerAlarm: () => Promise<number | null>;
  stop: () => Promise<void>;
}

/**
 * The three functions in miniflare (workerd), wired as in the cloud: api and sweeper reach the
 * dispatcher through a service binding. `vars` are the env of every worker.
 */
export async function startWorkers(options: {
  scripts: Record<WorkerName, string>;
  vars: Record<string, string>;
  port?: number;
  /**
   * Bind the sweeper's SweepTicker Durable Object, as in the cloud: to the sweeper (its class) and
   * to the api, which arms it. `'sweeper-only'` leaves the api without it, as if every arm were lost.
   */
  ticker?: boolean | 'sweeper-only';
  /** Also hands what the workers print (their console) to this, as it comes. */
  onOutput?: (text: string) => void;
  /** Requests per credential per window, instead of RATE_LIMITS' (tests that make many). */
  rateLimits?: Partial<Record<keyof typeof RATE_LIMITS, number>>;
}): Promise<LocalWorkers> {
  // The same rate limiting bindings as in the cloud (sst.config.ts), counted by miniflare, and
  // the settings that say their limits.
  const limits = (Object.keys(RATE_LIMITS) as (keyof typeof RATE_LIMITS)[]).map((kind) => ({
    ...RATE_LIMITS[kind],
    limit: options.rateLimits?.[kind] ?? RATE_LIMITS[kind].limit,
  }));
  const ratelimits = Object.fromEntries(
    limits.map(({ binding, limit, period }) => [binding, { simple: { limit, period } }]),
  );
  const rateSettings = Object.fromEntries(limits.map(({ setting, limit }) => [setting, String(limit)]));
  const common = {
    modules: true,
    compatibilityDate: COMPATIBILITY.date,
    compatibilityFlags: COMPATIBILITY.flags,
    bindings: options.vars,
  };
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    cf: false,
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      for (const [stream, into] of [
        [stdout, process.stdout],
        [stderr, process.stderr],
      ] as const) {
        stream.on('data', (chunk: Buffer) => {
          into.write(chunk);
          options.onOutput?.(chunk.toString());
        });
      }
    },
    workers: [
      {
        ...common,
        name: 'api',
        scriptPath: options.scripts.api,
        // Requests come straight to the worker, as Cloudflare's edge hands them over, not through
        // miniflare's entry worker and assets router: those two cost about seven times the worker's own
        // CPU per request (README, "Locally as in the cloud"). The api answers asset paths from ASSETS itself.
        unsafeDirectSockets: [{ host: '127.0.0.1', port: options.port ?? 0 }],
        ratelimits,
        bindings: { ...options.vars, ...rateSettings },
        serviceBindings: { DISPATCHER: 'dispatcher', ASSETS: 'api-assets' },
        ...(options.ticker === true && {
          durableObjects: {
            SweepTicker: { className: 'SweepTicker', scriptName: 'sweeper', useSQLite: true },
          },
        }),
      },
      {
        // The api's static assets (the cloud's ASSETS binding), served as the platform serves them.
        ...common,
        name: 'api-assets',
        script: 'export default {}',
        assets: { directory: prepareApiAssets() },
      },
      { ...common, name: 'dispatcher', scriptPath: options.scripts.dispatcher },
      {
        ...common,
        name: 'sweeper',
        scriptPath: options.scripts.sweeper,
        serviceBindings: { DISPATCHER: 'dispatcher' },
        ...(options.ticker && {
          durableObjects: { SweepTicker: { className: 'SweepTicker', useSQLite: true } },
        }),
      },
    ],
  });
  await mf.ready;
  const url = await mf.unsafeGetDirectURL('api');
  // miniflare's Fetcher type lacks `scheduled` without @cloudflare/workers-types; the method exists.
  const sweeper = (await mf.getWorker('sweeper')) as unknown as {
    scheduled(options: { cron: string }): Promise<unknown>;
  };
  return {
    mf,
    apiUrl: url.origin,
    sweep: async () => {
      await sweeper.scheduled({ cron: SWEEPER_CRON });
    },
    tickerAlarm: async () => {
      // Typed loosely without @cloudflare/workers-types; a Durable Object namespace binding.
      const ticker = (await mf.getDurableObjectNamespace('SweepTicker', 'sweeper')) as unknown as {
        idFromName(name: string): unknown;
        get(id: unknown): { fetch(url: string): Promise<Response> };
      };
      const response = await ticker.get(ticker.idFromName('sweeper')).fetch('https://ticker/alarm');
      return ((await response.json()) as { alarm: number | null }).alarm;
    },
    stop: () => mf.dispose(),
  };
}
