import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DatabaseServer, startDatabaseServer } from '@agent-messaging/local';
import { cpuSampler, type Latency, sequential } from './measure';
import { startPeer } from './peer';
import { acceptanceAlone, type Pipeline, pacedLatency, throughput } from './pipeline';
import { rawInsertTps } from './raw';
import { type PipelineResults, type Results, ratios, report, type Settings } from './report';
import { startService } from './service';

// `npm run bench`: the raw INSERT limit, a hand-built peer pipeline and this service, on one
// embedded PostgreSQL in one run, so the ratios between them hold on a noisy shared machine.

const setting = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const settings: Settings = {
  rawRows: setting('BENCH_RAW_ROWS', 10_000),
  messages: setting('BENCH_MESSAGES', 2000),
  concurrency: setting('BENCH_CONCURRENCY', 32),
  paced: setting('BENCH_PACED', 200),
  pacedPerSecond: setting('BENCH_PACED_RATE', 20),
  rounds: setting('BENCH_ROUNDS', 100),
  countRounds: setting('BENCH_COUNT_ROUNDS', 20),
  timeoutMeetings: setting('BENCH_TIMEOUT_MEETINGS', 50),
  timeoutsEach: setting('BENCH_TIMEOUTS_EACH', 2),
  /** How long deliveries may lag behind the last send before the run reports them missing. */
  deliveryTimeoutMs: setting('BENCH_DELIVERY_TIMEOUT_MS', 60_000),
};
const output = process.env.BENCH_OUT ?? fileURLToPath(new URL('results.json', import.meta.url));

const started = performance.now();
const progress = (step: string) =>
  console.log(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${step}`);

function commit(): string {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
  try {
    const changed = git('status', '--porcelain').split('\n').filter(Boolean).length;
    return `${git('rev-parse', '--short', 'HEAD')}${changed ? ` + ${changed} uncommitted files` : ''}`;
  } catch {
    return 'unknown';
  }
}

/** Every phase, on one PostgreSQL whose data lives in `workDir`. */
async function bench(
  server: DatabaseServer,
  dataDir: string,
  workDir: string,
): Promise<Omit<Results, 'ratios'>> {
  const loadAtStart = loadavg()[0] ?? 0;
  const cpu = cpuSampler(dataDir);
  const measurePipeline = async (pipeline: Pipeline): Promise<PipelineResults> => ({
    throughput: await throughput(pipeline, { ...settings, cpu, timeoutMs: settings.deliveryTimeoutMs }),
    paced: await pacedLatency(pipeline, {
      messages: settings.paced,
      perSecond: settings.pacedPerSecond,
      timeoutMs: settings.deliveryTimeoutMs,
    }),
  });

  progress('raw INSERT limit...');
  const raw = {
    rows: settings.rawRows,
    insertsPerSec: await rawInsertTps(server.postgres, settings.rawRows),
  };

  progress('peer: node:http + pg + graphile-worker...');
  const peerPipeline = await startPeer(server.postgres);
  let peer: PipelineResults;
  try {
    peer = await measurePipeline(peerPipeline);
  } finally {
    await peerPipeline.stop();
  }

  progress('service: miniflare workers...');
  let service: Results['service'];
  try {
    const stack = await startService(server, workDir);
    try {
      const pipeline = await measurePipeline(stack);
      progress('service: the same burst to an inbox-only agent (nothing to push)...');
      const inboxOnly = await acceptanceAlone(stack.sendToInbox, { ...settings, cpu });
      progress('service: operations one at a time...');
      const operations: Record<string, Latency> = {};
      for (const op of stack.operations) operations[op.name] = await sequential(settings.rounds, op.run);
      progress('service: round trips and connections per operation...');
      const perOperation = await stack.countPerOperation(settings.countRounds);
      progress(`service: timeout lag over ${settings.timeoutMeetings} meetings nobody touches...`);
      const timeoutLag = await stack.timeoutLag(settings.timeoutMeetings, settings.timeoutsEach);
      service = { ...pipeline, inboxOnly, operations, perOperation, timeoutLag };
    } finally {
      await stack.stop();
    }
  } catch (error) {
    // Reported, not fatal: the raw and peer figures still stand on their own.
    console.error('service failed:', error);
    service = { error: error instanceof Error ? error.message : String(error) };
  }

  return {
    commit: commit(),
    date: new Date().toISOString(),
    machine: {
      cpus: availableParallelism(),
      node: process.version,
      loadAverage: { atStart: loadAtStart, atEnd: loadavg()[0] ?? 0 },
    },
    settings,
    raw,
    peer,
    service,
  };
}

const workDir = await mkdtemp(join(process.cwd(), '.tmp-bench-'));
let server: DatabaseServer | undefined;
try {
  const dataDir = join(workDir, 'postgres');
  server = await startDatabaseServer(dataDir, { throwaway: true });
  const results = await bench(server, dataDir, workDir);
  await report({ ...results, ratios: ratios(results) }, output);
} finally {
  try {
    await server?.stop();
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
