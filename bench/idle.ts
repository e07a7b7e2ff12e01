import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDatabaseServer } from '@agent-messaging/local';
import { sleep } from './measure';
import { ADMIN, startBenchWorkers } from './service';

// `npm run bench:idle`: with nothing pending, the deployment leaves the database alone. The stack
// runs as `npm start` runs it (the ticker bound, the cron's safety net every 10 minutes, once at
// start too); some work leaves deadlines of every kind and finishes; then BENCH_IDLE_MINUTES
// (21 by default: two cron runs) of nothing, with every round trip the workers make timestamped
// where the bytes pass (the stand-ins for Neon's edge).

const CRON_INTERVAL_MS = Number(process.env.BENCH_CRON_INTERVAL_MS ?? 600_000);
const IDLE_MS = Number(process.env.BENCH_IDLE_MINUTES ?? 21) * 60_000;
const output = process.env.BENCH_OUT ?? fileURLToPath(new URL('idle-results.json', import.meta.url));

const workDir = await mkdtemp(join(process.cwd(), '.tmp-bench-idle-'));
const server = await startDatabaseServer(join(workDir, 'postgres'), { throwaway: true });
// An agent's endpoint that is always down: its delivery is retried until dead.
const failing = createServer((_request, response) => response.writeHead(503).end());
await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
const failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/`;
try {
  const { workers } = await startBenchWorkers(server, workDir, 'idle', {
    RETRY_BASE_MS: '200',
    MAX_DELIVERY_ATTEMPTS: '3',
  });
  const startedAt = Date.now();
  await workers.sweep();
  const cron = setInterval(() => void workers.sweep(), CRON_INTERVAL_MS);
  const call = async (path: string, token: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${workers.apiUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json().catch(() => null)) as any };
  };
  try {
    // Work that leaves every kind of deadline, and ends.
    const { apiKey } = (await call('/v1/organizations', ADMIN, { name: 'idle' })).body;
    const agent = async (name: string, endpointUrl?: string) =>
      (await call('/v1/agents', apiKey, { name, ...(endpointUrl && { endpointUrl }) })).body;
    const alice = await agent('alice');
    const bob = await agent('bob');
    const broken = await agent('broken', failingUrl);
    // Retries until dead, and an idempotency key (forgotten after 24 hours).
    await call(
      '/v1/messages',
      alice.token,
      { to: broken.agent.id, content: 'x' },
      { 'idempotency-key': 'k1' },
    );
    // A sync wait that times out.
    await call('/v1/conversations/sync', alice.token, { to: bob.agent.id, content: 'ping', timeoutMs: 1000 });
    // A meeting that times out three turns and ends at maxTurns.
    const { meeting } = (
      await call('/v1/meetings', alice.token, {
        title: 'idle',
        participantIds: [bob.agent.id],
        turnDurationMs: 500,
        maxTurns: 3,
      })
    ).body;
    await call(`/v1/meetings/${meeting.id}/attend`, bob.token);
    await call(`/v1/meetings/${meeting.id}/start`, alice.token);
    // Done when the ticker's next alarm is the idempotency key's, a day away.
    for (;;) {
      const alarm = await workers.tickerAlarm();
      if (alarm === null || alarm > Date.now() + 3_600_000) break;
      await sleep(200);
    }
    const idleFrom = Date.now();
    console.log(
      `work done after ${((idleFrom - startedAt) / 1000).toFixed(1)} s; idle for ${IDLE_MS / 60_000} min...`,
    );

    // Nothing pending: every change of the edge's counter is a round trip someone made.
    const roundTrips: { atSeconds: number; roundTrips: number }[] = [];
    let last = server.stats().allRoundTrips;
    while (Date.now() - idleFrom < IDLE_MS) {
      await sleep(100);
      const now = server.stats().allRoundTrips;
      if (now !== last) {
        roundTrips.push({
          atSeconds: Math.round((Date.now() - idleFrom) / 100) / 10,
          roundTrips: now - last,
        });
        last = now;
      }
    }
    const times = [0, ...roundTrips.map((r) => r.atSeconds), IDLE_MS / 1000];
    const longestQuietSeconds = Math.max(...times.slice(1).map((t, i) => t - (times[i] as number)));
    const results = {
      date: new Date().toISOString(),
      cronIntervalMs: CRON_INTERVAL_MS,
      idleMinutes: IDLE_MS / 60_000,
      roundTrips,
      totalRoundTrips: roundTrips.reduce((sum, r) => sum + r.roundTrips, 0),
      longestQuietMinutes: Math.round((longestQuietSeconds / 60) * 100) / 100,
      tickerAlarmAtEnd: await workers.tickerAlarm(),
    };
    console.log(JSON.stringify(results, null, 2));
    await writeFile(output, `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    clearInterval(cron);
    await workers.stop();
  }
} finally {
  failing.close();
  await server.stop();
  await rm(workDir, { recursive: true, force: true });
}
