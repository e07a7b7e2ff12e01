/// <reference path="./.sst/platform/config.d.ts" />

// The cloud: three Cloudflare Workers against a Neon database. `npm run deploy -- --stage NAME`
// applies the migrations, then runs `sst deploy`. Secrets are set once per stage with
// `npx sst secret set <Name> <value> --stage NAME`; the workers read them as linked resources.

export default $config({
  app(input) {
    return {
      name: 'agent-messaging',
      home: 'cloudflare',
      removal: input?.stage === 'production' ? 'retain' : 'remove',
    };
  },
  async run() {
    const secrets = [
      new sst.Secret('DatabaseUrl'),
      new sst.Secret('AdminToken'),
      new sst.Secret('EncryptionKey'),
    ];
    // Settings that are not secret; everything else keeps the defaults of packages/core/src/env.ts.
    const environment = { ALLOW_PRIVATE_ENDPOINTS: 'false' };
    // The same runtime as the local stack (packages/local/src/workers.ts).
    const compatibility = { date: '2026-04-01', flags: ['nodejs_compat'] };

    // Internal: no public URL, reached only through service bindings.
    const dispatcher = new sst.cloudflare.Worker('Dispatcher', {
      handler: 'functions/dispatcher/src/index.ts',
      link: secrets,
      environment,
      compatibility,
    });

    // The sweeper's clock: a Durable Object (class SweepTicker, exported by the sweeper) whose
    // alarm is set for the earliest pending deadline. The cron is the safety net: every 10 minutes
    // a pass, which arms the clock if a write's arm was lost; with nothing pending, nothing else runs.
    const ticker = new sst.cloudflare.DurableObject('SweepTicker', { className: 'SweepTicker' });
    const sweeper = new sst.cloudflare.Cron('Sweeper', {
      worker: {
        handler: 'functions/sweeper/src/index.ts',
        link: [dispatcher, ticker, ...secrets],
        migrations: [{ tag: 'v1', newSqliteClasses: ['SweepTicker'] }],
        environment,
        compatibility,
      },
      schedules: ['*/10 * * * *'],
    });
    // The api arms the clock: a binding to the class in the sweeper's script (bound as `Ticker`).
    const tickerOfSweeper = new sst.Linkable('Ticker', {
      properties: { className: 'SweepTicker' },
      include: [
        sst.cloudflare.binding({
          type: 'durableObjectNamespaceBindings',
          properties: { className: 'SweepTicker', scriptName: sweeper.nodes.worker.scriptName },
        }),
      ],
    });

    // Requests per credential (packages/core/src/rate-limits.ts): Workers rate limiting bindings,
    // counted at each Cloudflare location, no database work.
    const rateLimit = (name: string, namespaceId: string, limit: number) =>
      new sst.Linkable(name, {
        properties: { limit, period: 60 },
        include: [
          sst.cloudflare.binding({
            type: 'rateLimitBindings',
            properties: { namespaceId, simple: { limit, period: 60 } },
          }),
        ],
      });
    const rateLimits = [
      rateLimit('AgentRateLimit', '1001', 1200),
      rateLimit('OrganizationRateLimit', '1002', 600),
    ];
    // What the headers say they allow.
    const rateSettings = { AGENT_RATE_LIMIT: '1200', ORGANIZATION_RATE_LIMIT: '600' };

    const api = new sst.cloudflare.Worker('Api', {
      handler: 'functions/api/src/index.ts',
      url: true,
      // The API reference's renderer, served by Cloudflare before the worker runs (no CDN);
      // `npm run deploy` puts it there (packages/local/src/api-assets.ts).
      assets: { directory: 'functions/api/assets' },
      link: [dispatcher, tickerOfSweeper, ...rateLimits, ...secrets],
      environment: { ...environment, ...rateSettings },
      compatibility,
    });

    return { api: api.url };
  },
});
