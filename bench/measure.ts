import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Latency {
  p50: number;
  p99: number;
  samples: number;
}

/** Nearest-rank percentiles, in milliseconds. */
export function latency(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), samples: sorted.length };
}

/** `op` run `rounds` times one after the other, each timed. */
export async function sequential(rounds: number, op: (i: number) => Promise<unknown>): Promise<Latency> {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await op(i);
    samples.push(performance.now() - start);
  }
  return latency(samples);
}

/** `count` sends by `concurrency` senders, each starting its next as soon as the last was answered. */
export async function burst(count: number, concurrency: number, send: (i: number) => Promise<void>) {
  let next = 0;
  let failed = 0;
  const sender = async () => {
    while (next < count) {
      const i = next++;
      await send(i).catch(() => failed++);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  return { failed };
}

/**
 * Open-loop load: send `i` starts at `i / perSecond` seconds whether or not earlier ones were
 * answered, as independent clients would. Returns when every send was answered, with the time
 * (performance.now()) each one started.
 */
export async function paced(count: number, perSecond: number, send: (i: number) => Promise<void>) {
  const start = performance.now();
  const sentAt: number[] = [];
  const sends: Promise<void>[] = [];
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / perSecond - performance.now();
    if (wait > 0) await sleep(wait);
    sentAt[i] = performance.now();
    sends.push(send(i).catch(() => void failed++));
  }
  await Promise.all(sends);
  return { sentAt, failed };
}

/** CPU time in ms, by process group, since an arbitrary origin (subtract two samples). */
export interface Cpu {
  postgres: number;
  workerd: number;
  /**
   * This Node process: the load generator and the endpoint, with either the peer pipeline or the
   * database stand-ins (WebSocket proxy, HTTP query endpoint).
   */
  node: number;
}

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks: cutime covers children that have exited. */
  ticks: number;
}

function procStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string;
    try {
      text = readFileSync(join('/proc', entry, 'stat'), 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so split after the last ')'.
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    const field = (n: number) => Number(fields[n - 3]);
    stats.push({
      pid: Number(entry),
      comm: text.slice(text.indexOf('(') + 1, close),
      ppid: field(4),
      ticks: field(14) + field(15) + field(16) + field(17),
    });
  }
  return stats;
}

/**
 * Samples CPU of PostgreSQL (the postmaster, whose cutime holds the backends that exited, plus its
 * live children), of the workerd processes below this one, and of this Node process.
 */
export function cpuSampler(postgresDataDir: string): () => Cpu {
  const postmaster = Number(readFileSync(join(postgresDataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return () => {
    const stats = procStats();
    const children = new Map<number, number[]>();
    for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
    const below = (root: number): Set<number> => {
      const found = new Set<number>();
      const queue = [...(children.get(root) ?? [])];
      for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
        found.add(pid);
        queue.push(...(children.get(pid) ?? []));
      }
      return found;
    };
    const mine = below(process.pid);
    const ms = (pick: (s: ProcStat) => boolean) =>
      (stats.filter(pick).reduce((sum, s) => sum + s.ticks, 0) * 1000) / ticksPerSecond;
    const usage = process.cpuUsage();
    return {
      postgres: ms((s) => s.pid === postmaster || s.ppid === postmaster),
      workerd: ms((s) => s.comm === 'workerd' && mine.has(s.pid)),
      node: (usage.user + usage.system) / 1000,
    };
  };
}

/** CPU used between two samples, divided by `per` (messages, say). */
export function cpuDelta(before: Cpu, after: Cpu, per: number): Cpu {
  return {
    postgres: (after.postgres - before.postgres) / per,
    workerd: (after.workerd - before.workerd) / per,
    node: (after.node - before.node) / per,
  };
}
