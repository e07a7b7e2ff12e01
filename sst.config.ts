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

    const api = new sst.cloudflare.Worker('Api', {
      handler: 'functions/api/src/index.ts',
      url: true,
      link: [dispatcher, ...secrets],
      environment,
      compatibility,
    });

    // The sweeper's clock: a Durable Object (class SweepTicker, exported by the sweeper) whose
    // alarm sweeps every SWEEP_STEP_MS (1 s). The cron, once a minute, arms it if it is not armed
    // and makes a pass of its own.
    const ticker = new sst.cloudflare.DurableObject('SweepTicker', { className: 'SweepTicker' });
    new sst.cloudflare.Cron('Sweeper', {
      worker: {
        handler: 'functions/sweeper/src/index.ts',
        link: [dispatcher, ticker, ...secrets],
        migrations: [{ tag: 'v1', newSqliteClasses: ['SweepTicker'] }],
        environment,
        compatibility,
      },
      schedules: ['* * * * *'],
    });

    return { api: api.url };
  },
});
