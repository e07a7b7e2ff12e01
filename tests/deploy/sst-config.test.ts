import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RATE_LIMITS } from '@agent-messaging/core';
import { COMPATIBILITY, SWEEPER_CRON } from '@agent-messaging/local';
import { API_ASSETS_DIR, prepareApiAssets } from '@agent-messaging/local/src/api-assets';
import { parseDeployArgs } from '@agent-messaging/local/src/deploy';
import { describe, expect, it } from 'vitest';

interface Declared {
  kind: string;
  name: string;
  args: any;
}

/** Evaluates sst.config.ts's run() with stand-ins for SST's globals that record what it declares. */
async function evaluateConfig() {
  const declared: Declared[] = [];
  const component = (kind: string) =>
    class {
      readonly url = `https://${kind}.example`;
      readonly nodes = { worker: { scriptName: `${kind}-script` } };
      constructor(
        readonly name: string,
        readonly args: unknown = {},
      ) {
        declared.push({ kind, name, args });
      }
    };
  const globals = globalThis as any;
  globals.$config = (config: unknown) => config;
  globals.sst = {
    Secret: component('Secret'),
    Linkable: component('Linkable'),
    cloudflare: {
      Worker: component('Worker'),
      Cron: component('Cron'),
      DurableObject: component('DurableObject'),
      binding: (definition: unknown) => ({ binding: definition }),
    },
  };
  // A computed path, so the main typecheck does not follow it into SST's platform sources
  // (sst.config.ts is typechecked on its own against them: npm run typecheck:sst).
  const configPath = new URL('../../sst.config.ts', import.meta.url).href;
  const { default: config } = await import(/* @vite-ignore */ configPath);
  const outputs = await config.run();
  return { app: config.app({ stage: 'production' }), declared, outputs };
}

describe('sst.config.ts', () => {
  it("declares the secrets, the two workers, the cron with its ticker, the api's binding to it, and their links", async () => {
    const { app, declared, outputs } = await evaluateConfig();
    expect(app).toMatchObject({ name: 'agent-messaging', home: 'cloudflare', removal: 'retain' });

    const secrets = declared.filter((d) => d.kind === 'Secret').map((d) => d.name);
    expect(secrets).toEqual(['DatabaseUrl', 'AdminToken', 'EncryptionKey']);

    const byName = Object.fromEntries(declared.map((d) => [d.name, d]));
    const linkNames = (links: { name: string }[]) => links.map((l) => l.name);
    const dispatcher = byName.Dispatcher;
    const api = byName.Api;
    const sweeper = byName.Sweeper;
    expect(dispatcher?.kind).toBe('Worker');
    expect(dispatcher?.args.url).toBeUndefined();
    expect(linkNames(dispatcher?.args.link)).toEqual(secrets);

    expect(api?.args.url).toBe(true);
    // Its static assets (the /docs renderer) are the directory the local stack serves.
    const root = fileURLToPath(new URL('../../', import.meta.url));
    expect(resolve(root, api?.args.assets.directory)).toBe(API_ASSETS_DIR);
    expect(existsSync(`${prepareApiAssets()}/docs/scalar.js`)).toBe(true);
    expect(linkNames(api?.args.link)).toEqual([
      'Dispatcher',
      'Ticker',
      'AgentRateLimit',
      'OrganizationRateLimit',
      ...secrets,
    ]);
    // The rate limiting bindings count what packages/core/src/rate-limits.ts says, as miniflare does.
    for (const { binding, setting, limit, period } of Object.values(RATE_LIMITS)) {
      expect(byName[binding]).toMatchObject({
        kind: 'Linkable',
        args: {
          include: [{ binding: { type: 'rateLimitBindings', properties: { simple: { limit, period } } } }],
        },
      });
      // The setting the RateLimit headers report is the binding's limit.
      expect(api?.args.environment[setting]).toBe(String(limit));
    }

    expect(sweeper?.kind).toBe('Cron');
    expect(sweeper?.args.schedules).toEqual([SWEEPER_CRON]);
    expect(linkNames(sweeper?.args.worker.link)).toEqual(['Dispatcher', 'SweepTicker', ...secrets]);
    // The ticker's class lives in the sweeper's worker, which exports it.
    const ticker = byName.SweepTicker;
    expect(ticker).toMatchObject({ kind: 'DurableObject', args: { className: 'SweepTicker' } });
    expect(sweeper?.args.worker.migrations).toEqual([{ tag: 'v1', newSqliteClasses: ['SweepTicker'] }]);
    const sweeperModule = await import('../../functions/sweeper/src/index');
    expect(typeof sweeperModule.SweepTicker.prototype.alarm).toBe('function');
    // The api reaches that class through a binding naming the sweeper's script.
    expect(byName.Ticker).toMatchObject({
      kind: 'Linkable',
      args: {
        include: [
          {
            binding: {
              type: 'durableObjectNamespaceBindings',
              properties: { className: 'SweepTicker', scriptName: 'Cron-script' },
            },
          },
        ],
      },
    });

    for (const worker of [dispatcher?.args, api?.args, sweeper?.args.worker]) {
      expect(existsSync(worker.handler), worker.handler).toBe(true);
      expect(worker.environment.ALLOW_PRIVATE_ENDPOINTS).toBe('false');
      // The cloud runs the functions on the same runtime as the local stack and the tests.
      expect(worker.compatibility).toEqual(COMPATIBILITY);
    }
    expect(outputs).toEqual({ api: 'https://Worker.example' });
  });
});

describe('npm run deploy', () => {
  it('requires a stage', () => {
    expect(parseDeployArgs(['--stage', 'prod'])).toEqual({ stage: 'prod' });
    expect(parseDeployArgs(['--stage=dev-2'])).toEqual({ stage: 'dev-2' });
    expect(() => parseDeployArgs([])).toThrow('Usage');
    expect(() => parseDeployArgs(['--stage'])).toThrow('Usage');
    expect(() => parseDeployArgs(['--stage', '--force'])).toThrow('Usage');
    expect(() => parseDeployArgs(['--stage', 'a b'])).toThrow('Usage');
  });
});
