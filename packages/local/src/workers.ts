import { Miniflare } from 'miniflare';
import type { WorkerName } from './build';

/** The Workers runtime the functions are written for; sst.config.ts deploys with the same. */
export const COMPATIBILITY = { date: '2026-04-01', flags: ['nodejs_compat'] };

export interface LocalWorkers {
  mf: Miniflare;
  apiUrl: string;
  /** Fires the sweeper's scheduled handler once, as the cron would. */
  sweep: () => Promise<void>;
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
  /** Bind the sweeper's SweepTicker Durable Object, as in the cloud: once armed, it sweeps on its own. */
  ticker?: boolean;
}): Promise<LocalWorkers> {
  const common = {
    modules: true,
    compatibilityDate: COMPATIBILITY.date,
    compatibilityFlags: COMPATIBILITY.flags,
    bindings: options.vars,
  };
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: options.port ?? 0,
    cf: false,
    workers: [
      {
        ...common,
        name: 'api',
        scriptPath: options.scripts.api,
        serviceBindings: { DISPATCHER: 'dispatcher' },
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
  const url = await mf.ready;
  // miniflare's Fetcher type lacks `scheduled` without @cloudflare/workers-types; the method exists.
  const sweeper = (await mf.getWorker('sweeper')) as unknown as {
    scheduled(options: { cron: string }): Promise<unknown>;
  };
  return {
    mf,
    apiUrl: url.origin,
    sweep: async () => {
      await sweeper.scheduled({ cron: '* * * * *' });
    },
    stop: () => mf.dispose(),
  };
}
