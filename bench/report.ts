import { writeFile } from 'node:fs/promises';
import type { Latency } from './measure';
import type { Acceptance, PacedLatency, Throughput } from './pipeline';
import type { Counters } from './service';

export interface PipelineResults {
  throughput: Throughput;
  paced: PacedLatency;
}

export interface Settings {
  rawRows: number;
  messages: number;
  concurrency: number;
  paced: number;
  pacedPerSecond: number;
  rounds: number;
  countRounds: number;
  deliveryTimeoutMs: number;
  timeoutMeetings: number;
  timeoutsEach: number;
}

export interface Results {
  commit: string;
  date: string;
  /** The 1-minute load average when the run started and ended: other work skews every figure. */
  machine: { cpus: number; node: string; loadAverage: { atStart: number; atEnd: number } };
  settings: Settings;
  raw: { rows: number; insertsPerSec: number };
  peer: PipelineResults;
  service:
    | (PipelineResults & {
        /** The burst again, to an agent with no endpoint: acceptance with no delivery work beside it. */
        inboxOnly: Acceptance;
        operations: Record<string, Latency>;
        perOperation: Record<string, Counters>;
        /** From a turn's deadline to its turn_timed_out event stored, nobody touching the meeting. */
        timeoutLag: Latency & { max: number };
      })
    | { error: string };
  ratios: Record<string, number>;
}

export function ratios(results: Omit<Results, 'ratios'>): Record<string, number> {
  const { raw, peer, service } = results;
  const peerRatios = { peerAcceptedPerRawInsertTps: peer.throughput.acceptedPerSec / raw.insertsPerSec };
  if ('error' in service) return peerRatios;
  return {
    serviceDeliveredPerPeerDelivered: service.throughput.deliveredPerSec / peer.throughput.deliveredPerSec,
    servicePacedP50PerPeerPacedP50: service.paced.p50 / peer.paced.p50,
    serviceAcceptedPerRawInsertTps: service.throughput.acceptedPerSec / raw.insertsPerSec,
    serviceInboxOnlyAcceptedPerRawInsertTps: service.inboxOnly.acceptedPerSec / raw.insertsPerSec,
    ...peerRatios,
  };
}

const fmt = (value: number | undefined, digits = 1) =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
const times = (value: number | undefined, digits = 2) =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(digits)}x`;

/** A markdown table with padded columns: readable in a terminal, pasteable into README. */
function markdown(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]?.length ?? 0)));
  const line = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | ')} |`;
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function pipelineTable(results: Results): string {
  const { raw, peer, settings } = results;
  const service = 'error' in results.service ? undefined : results.service;
  const row = (
    label: string,
    pick: (p: PipelineResults) => number,
    digits = 1,
    rawValue?: number,
  ): string[] => {
    const p = pick(peer);
    const s = service && pick(service);
    return [
      label,
      rawValue === undefined ? '' : fmt(rawValue, 0),
      fmt(p, digits),
      fmt(s, digits),
      times(s === undefined ? undefined : s / p),
    ];
  };
  const cpu = (p: PipelineResults) => p.throughput.cpuMsPerMessage;
  return markdown(
    ['figure', 'raw limit', 'peer', 'service', 'service ÷ peer'],
    [
      row(
        `accepted/s (${settings.concurrency} senders, ${settings.messages} msgs)`,
        (p) => p.throughput.acceptedPerSec,
        0,
        raw.insertsPerSec,
      ),
      row('delivered/s (same burst, signed POSTs verified)', (p) => p.throughput.deliveredPerSec, 0),
      row(
        `send-to-POST p50 ms (${settings.pacedPerSecond} msg/s, ${settings.paced} msgs)`,
        (p) => p.paced.p50,
      ),
      row(`send-to-POST p99 ms (${settings.pacedPerSecond} msg/s)`, (p) => p.paced.p99),
      row(
        'db round trips/msg in that burst (the service, at its stand-ins)',
        (p) => p.throughput.roundTripsPerMessage ?? Number.NaN,
        2,
      ),
      row('CPU ms/msg: PostgreSQL', (p) => cpu(p).postgres, 2),
      row('CPU ms/msg: workerd', (p) => cpu(p).workerd, 2),
      row(
        'CPU ms/msg: bench Node process (load, endpoint; peer, or the db stand-ins)',
        (p) => cpu(p).node,
        2,
      ),
      row('CPU ms/msg: all', (p) => cpu(p).postgres + cpu(p).workerd + cpu(p).node, 2),
    ],
  );
}

function operationsTable(service: Exclude<Results['service'], { error: string }>, rounds: number): string {
  return markdown(
    [
      'operation',
      `p50 ms (${rounds} in a row)`,
      'p99 ms',
      'db round trips/op',
      'new backends/op',
      'client connections/op',
    ],
    Object.entries(service.operations).map(([name, { p50, p99 }]) => {
      const counts = service.perOperation[name];
      return [
        name,
        fmt(p50),
        fmt(p99),
        fmt(counts?.roundTrips),
        fmt(counts?.newBackends, 2),
        fmt(counts?.clientConnections, 2),
      ];
    }),
  );
}

function ratiosTable(results: Results): string {
  const r = results.ratios;
  return markdown(
    ['ratio (same machine, same run)', 'value', 'target'],
    [
      ['service delivered/s ÷ peer delivered/s', times(r.serviceDeliveredPerPeerDelivered, 2), '>= 1.2x'],
      ['service paced p50 ÷ peer paced p50', times(r.servicePacedP50PerPeerPacedP50, 2), '<= 1.0x'],
      ['service accepted/s ÷ raw insert TPS', times(r.serviceAcceptedPerRawInsertTps, 3), '>= 0.1x'],
      ['peer accepted/s ÷ raw insert TPS', times(r.peerAcceptedPerRawInsertTps, 3), '(reference)'],
      [
        'service accepted/s, nothing to push ÷ raw insert TPS',
        times(r.serviceInboxOnlyAcceptedPerRawInsertTps, 3),
        '(ceiling: no delivery work)',
      ],
    ],
  );
}

/** Anything that did not go through: failed sends, messages never delivered, bad signatures. */
function shortfalls(results: Results): string[] {
  const notes: string[] = [];
  const pipelines: [string, PipelineResults | undefined][] = [
    ['peer', results.peer],
    ['service', 'error' in results.service ? undefined : results.service],
  ];
  for (const [name, p] of pipelines) {
    if (!p) continue;
    const { throughput: t, paced } = p;
    if (t.failedSends || t.rejectedSignatures || t.delivered < t.messages - t.failedSends)
      notes.push(
        `${name} burst: ${t.failedSends} sends failed, ${t.delivered} of ${t.messages} delivered, ${t.rejectedSignatures} bad signatures`,
      );
    if (paced.failedSends || paced.rejectedSignatures || paced.samples < paced.messages - paced.failedSends)
      notes.push(
        `${name} paced: ${paced.failedSends} sends failed, ${paced.samples} of ${paced.messages} delivered, ${paced.rejectedSignatures} bad signatures`,
      );
  }
  if ('error' in results.service) notes.push(`service failed: ${results.service.error}`);
  return notes;
}

export async function report(results: Results, file: string): Promise<void> {
  const { settings } = results;
  const { machine } = results;
  console.log(
    `\nbench at ${results.commit}, ${machine.cpus} cores, Node ${machine.node}, load ${fmt(machine.loadAverage.atStart, 2)} -> ${fmt(machine.loadAverage.atEnd, 2)}`,
  );
  console.log(
    `raw limit: ${fmt(results.raw.insertsPerSec, 0)} single-row INSERTs/s (pg, 32 connections, ${results.raw.rows} rows)\n`,
  );
  console.log(pipelineTable(results));
  if (!('error' in results.service)) {
    const { acceptedPerSec, cpuMsPerMessage: cpu } = results.service.inboxOnly;
    console.log(
      `\nthe same burst to an inbox-only agent (written, nothing pushed): ${fmt(acceptedPerSec, 0)} accepted/s (${times(acceptedPerSec / results.raw.insertsPerSec, 3)} raw); CPU ms/msg: PostgreSQL ${fmt(cpu.postgres, 2)}, workerd ${fmt(cpu.workerd, 2)}, bench Node process ${fmt(cpu.node, 2)}`,
    );
    console.log(
      `\nservice operations, one at a time (round trips and connections: ${settings.countRounds} runs each, deliveries included)\n`,
    );
    console.log(operationsTable(results.service, settings.rounds));
    const lag = results.service.timeoutLag;
    console.log(
      `\ntimeout lag (deadline to turn_timed_out stored, ${settings.timeoutMeetings} meetings, ${lag.samples} timeouts): p50 ${fmt(lag.p50)} ms, p99 ${fmt(lag.p99)} ms, max ${fmt(lag.max)} ms (target p99 <= 250 ms)`,
    );
  }
  console.log('\nratios, for README:\n');
  console.log(ratiosTable(results));
  for (const note of shortfalls(results)) console.log(`\nNOTE: ${note}`);
  // Three decimals are more than the noise allows; no arrays, so Biome's formatting leaves it as is.
  const rounded = (_key: string, value: unknown) =>
    typeof value === 'number' ? Math.round(value * 1000) / 1000 : value;
  await writeFile(file, `${JSON.stringify(results, rounded, 2)}\n`);
  console.log(`\nwritten: ${file}`);
}
