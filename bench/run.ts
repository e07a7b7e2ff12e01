import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { generateEncryptionKey } from '@agent-messaging/core';
import {
  bundleWorkers,
  ensureDatabase,
  migrate,
  startDatabaseServer,
  startWorkers,
} from '@agent-messaging/local';
import { createAdaptorServer } from '@hono/node-server';
import pMap from 'p-map';
import pg from 'pg';

// `npm run bench`: latency of the main operations against the real local stack, each reported
// as a ratio to a baseline measured in the same run (GET /healthz: one request, one query), since
// absolute numbers on a shared 2-core machine mean little.

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const ADMIN = 'bench-admin-token-0123456789abcdef';

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

async function time(rounds: number, run: (i: number) => Promise<unknown>) {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await run(i);
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 0.5), p95: percentile(samples, 0.95) };
}

async function main() {
  const workDir = await mkdtemp(join(process.cwd(), '.tmp-bench-'));
  const server = await startDatabaseServer(join(workDir, 'postgres'), { throwaway: true });
  const databaseUrl = await ensureDatabase(server.postgres, 'bench');
  await migrate(databaseUrl);
  const workers = await startWorkers({
    scripts: await bundleWorkers(join(workDir, 'build')),
    vars: {
      DATABASE_URL: databaseUrl,
      NEON_WS_PROXY: server.wsProxy,
      ADMIN_TOKEN: ADMIN,
      ENCRYPTION_KEY: generateEncryptionKey(),
      ALLOW_PRIVATE_ENDPOINTS: 'true',
      SWEEP_BUDGET_MS: '0',
    },
  });
  const endpoint = createAdaptorServer({
    fetch: async (request: Request) => {
      const body = (await request.json()) as { type: string; message?: { content: unknown } };
      return Response.json(body.type === 'sync_request' ? { reply: body.message?.content } : {});
    },
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  const endpointUrl = `http://127.0.0.1:${(endpoint.address() as { port: number }).port}/hook`;

  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const response = await fetch(`${workers.apiUrl}${path}`, {
      method,
      headers: {
        ...(token && { authorization: `Bearer ${token}` }),
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const json = (await response.json()) as any;
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };

  try {
    const { apiKey } = await call('POST', '/v1/organizations', ADMIN, { name: 'bench' });
    const agent = async (name: string, withEndpoint = false) =>
      call('POST', '/v1/agents', apiKey, { name, ...(withEndpoint && { endpointUrl }) });
    const alice = await agent('alice');
    const bob = await agent('bob');
    const echo = await agent('echo', true);

    const results: [string, { p50: number; p95: number }][] = [];
    results.push(['GET /healthz (baseline)', await time(ROUNDS, () => call('GET', '/healthz'))]);
    results.push([
      'POST /v1/messages (one-way, inbox only)',
      await time(ROUNDS, (i) => call('POST', '/v1/messages', alice.token, { to: bob.agent.id, content: i })),
    ]);
    results.push([
      'POST /v1/conversations/async',
      await time(ROUNDS, (i) =>
        call('POST', '/v1/conversations/async', alice.token, { to: bob.agent.id, content: i }),
      ),
    ]);
    results.push([
      'GET /v1/inbox (50 messages)',
      await time(ROUNDS, () => call('GET', '/v1/inbox?limit=50', bob.token)),
    ]);
    results.push([
      'sync round trip (inline reply from an endpoint)',
      await time(ROUNDS, (i) =>
        call('POST', '/v1/conversations/sync', alice.token, {
          to: echo.agent.id,
          content: i,
          timeoutMs: 10_000,
        }),
      ),
    ]);
    const { meeting } = await call('POST', '/v1/meetings', alice.token, {
      title: 'bench',
      participantIds: [bob.agent.id],
      turnDurationMs: 60_000,
    });
    await call('POST', `/v1/meetings/${meeting.id}/attend`, bob.token);
    await call('POST', `/v1/meetings/${meeting.id}/start`, alice.token);
    results.push([
      'meeting speak (turn passes)',
      await time(ROUNDS, (i) =>
        call('POST', `/v1/meetings/${meeting.id}/speak`, (i % 2 === 0 ? bob : alice).token, { content: i }),
      ),
    ]);

    const baseline = results[0]?.[1].p50 ?? 1;
    console.log(`\n${ROUNDS} sequential requests each, against miniflare + embedded PostgreSQL\n`);
    console.log(
      'operation'.padEnd(52),
      'p50 ms'.padStart(8),
      'p95 ms'.padStart(8),
      'p50 / baseline'.padStart(16),
    );
    for (const [name, { p50, p95 }] of results) {
      console.log(
        name.padEnd(52),
        p50.toFixed(1).padStart(8),
        p95.toFixed(1).padStart(8),
        `${(p50 / baseline).toFixed(2)}x`.padStart(16),
      );
    }

    // Push throughput: N messages to an endpoint agent, until all are delivered.
    const pushes = ROUNDS * 2;
    const started = performance.now();
    await pMap(
      Array.from({ length: pushes }, (_, i) => i),
      (i) => call('POST', '/v1/messages', alice.token, { to: echo.agent.id, content: i }),
      { concurrency: 20 },
    );
    // Delivered means every outbox row: the sweeper (fired here as the cron would) retries any
    // hand-off that did not make it.
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    for (;;) {
      const { rows } = await db.query(
        "SELECT count(*)::int AS pending FROM deliveries WHERE status <> 'delivered'",
      );
      if (rows[0].pending === 0) break;
      await workers.sweep();
    }
    await db.end();
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `\npushed ${pushes} messages to an endpoint (20 senders in parallel) in ${seconds.toFixed(2)} s: ${(pushes / seconds).toFixed(0)} msg/s`,
    );
  } finally {
    endpoint.close();
    await workers.stop();
    await server.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
