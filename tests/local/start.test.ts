import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `npm start` as a user runs it: its own process, its own PostgreSQL and data folder (a temporary
// one here, through DATA_DIR), stopped with Ctrl-C (SIGINT) and started again on the same data.

// What `npm start` runs: one node process (tsx as a loader, not a wrapper that exits first).
const START = ['node', '--import', 'tsx', 'packages/local/src/start.ts'];
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(process.cwd(), '.tmp-start-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

interface Started {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(env: Record<string, string> = {}): Started {
  const child = spawn(START[0] as string, START.slice(1), {
    env: { ...process.env, DATA_DIR: dataDir, PORT: '0', CRON_INTERVAL_MS: '200', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so Ctrl-C can be sent as a terminal sends it: to the whole group.
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, output: () => output, exited };
}

/** Waits for the banner and reads the API URL and admin token from it. */
async function ready(started: Started) {
  const deadline = Date.now() + 60_000;
  while (!started.output().includes('Press Ctrl-C to stop.')) {
    if (started.process.exitCode !== null) throw new Error(`npm start exited:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${started.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const apiUrl = /API\s+(http:\/\/\S+)/.exec(started.output())?.[1] as string;
  const adminToken = /Admin token\s+(\S+)/.exec(started.output())?.[1] as string;
  return { apiUrl, adminToken };
}

/** Ctrl-C: SIGINT to the process group, as a terminal sends it. */
async function stop(started: Started) {
  process.kill(-(started.process.pid as number), 'SIGINT');
  return started.exited;
}

const call = async (url: string, token: string, body?: unknown) => {
  const response = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as any };
};

describe('npm start', () => {
  it('runs the stack, stops cleanly on Ctrl-C, and a second start reuses the data and admin token', async () => {
    const first = start();
    const { apiUrl, adminToken } = await ready(first);
    expect(adminToken).toMatch(/^am_admin_/);
    expect((await fetch(`${apiUrl}/healthz`)).status).toBe(200);
    const org = await call(`${apiUrl}/v1/organizations`, adminToken, { name: 'Kept' });
    expect(org.status).toBe(201);
    const agent = await call(`${apiUrl}/v1/agents`, org.body.apiKey, { name: 'survivor' });
    expect(agent.status).toBe(201);
    // The generated secrets are kept for the next start, readable by their owner only.
    const secretsFile = join(dataDir, 'local-secrets.json');
    expect((await stat(secretsFile)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(secretsFile, 'utf8')).ADMIN_TOKEN).toBe(adminToken);

    // 130: the conventional status of a process ended by Ctrl-C, after its exit hooks ran.
    expect(await stop(first)).toBe(130);
    expect(first.output()).toContain('Stopping...');
    // PostgreSQL stopped with it: its pid file is gone.
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

    const second = start();
    const again = await ready(second);
    expect(again.adminToken).toBe(adminToken);
    const listed = await call(`${again.apiUrl}/v1/agents`, org.body.apiKey);
    expect(listed.body.agents.map((a: { name: string }) => a.name)).toEqual(['survivor']);
    expect(await stop(second)).toBe(130);
  }, 180_000);

  it('an ADMIN_TOKEN from the environment is used and never written down', async () => {
    const token = 'an-admin-token-from-the-environment-0123';
    const started = start({ ADMIN_TOKEN: token });
    const { apiUrl, adminToken } = await ready(started);
    expect(adminToken).toBe(token);
    expect((await call(`${apiUrl}/v1/organizations`, token, { name: 'Env' })).status).toBe(201);
    expect(await stop(started)).toBe(130);
    expect(await readFile(join(dataDir, 'local-secrets.json'), 'utf8')).not.toContain(token);
  }, 120_000);

  it('refuses bad settings before starting anything, naming them without their values', async () => {
    const started = start({ ADMIN_TOKEN: 'short-secret' });
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain('Invalid setting ADMIN_TOKEN');
    expect(started.output()).not.toContain('short-secret');
    const withBadInterval = start({ CRON_INTERVAL_MS: 'soon' });
    expect(await withBadInterval.exited).toBe(1);
    expect(withBadInterval.output()).toContain('Invalid setting CRON_INTERVAL_MS');
    expect(withBadInterval.output()).not.toContain('Agent Messaging is running');
  }, 60_000);
});
