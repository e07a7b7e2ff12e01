import type { Endpoint } from './endpoint';
import { burst, type Cpu, cpuDelta, type Latency, latency, paced } from './measure';

/** A way to get a message from a sender to an agent's endpoint: the peer's or the service's. */
export interface Pipeline {
  /** Sends message `content: {seq}` to the endpoint agent; resolves once accepted (2xx). */
  send: (seq: number) => Promise<void>;
  endpoint: Endpoint;
  /** Database round trips so far, where this pipeline counts them (the service, at its stand-ins). */
  roundTrips?: () => number;
}

// Sequence numbers are never reused across phases, so a late redelivery cannot pass for a new receipt.
let nextSeq = 0;
const takeSeqs = (count: number) => {
  const first = nextSeq;
  nextSeq += count;
  return first;
};

/**
 * Waits for `count` unique webhook-ids (retries come from each pipeline's own clock: the
 * service's sweeper ticker, graphile-worker's). False if they did not all arrive within `timeoutMs`.
 */
const waitDelivered = (pipeline: Pipeline, count: number, timeoutMs: number) =>
  pipeline.endpoint.waitFor(count, timeoutMs);

export interface Throughput {
  messages: number;
  failedSends: number;
  delivered: number;
  rejectedSignatures: number;
  acceptedPerSec: number;
  deliveredPerSec: number;
  /** CPU milliseconds per delivered message, from the first send to the last receipt. */
  cpuMsPerMessage: Cpu;
  /** Database round trips per delivered message in the burst, where the pipeline counts them. */
  roundTripsPerMessage?: number;
}

/** The burst's sends, timed: how many failed and how many were accepted per second. */
async function timedBurst(messages: number, concurrency: number, send: (i: number) => Promise<void>) {
  const start = performance.now();
  const { failed } = await burst(messages, concurrency, send);
  return { start, failed, acceptedPerSec: ((messages - failed) * 1000) / (performance.now() - start) };
}

export interface Acceptance {
  messages: number;
  failedSends: number;
  acceptedPerSec: number;
  /** CPU milliseconds per accepted message, over the burst. */
  cpuMsPerMessage: Cpu;
}

/**
 * The same burst to a recipient with no endpoint: every message is written and nothing is pushed,
 * so this is how fast the service accepts when no delivery work shares the machine.
 */
export async function acceptanceAlone(
  send: (seq: number) => Promise<void>,
  options: { messages: number; concurrency: number; cpu: () => Cpu },
): Promise<Acceptance> {
  const first = takeSeqs(options.messages);
  const cpuBefore = options.cpu();
  const { failed, acceptedPerSec } = await timedBurst(options.messages, options.concurrency, (i) =>
    send(first + i),
  );
  return {
    messages: options.messages,
    failedSends: failed,
    acceptedPerSec,
    cpuMsPerMessage: cpuDelta(cpuBefore, options.cpu(), options.messages - failed),
  };
}

/** `messages` sent by `concurrency` senders at once: how fast they are accepted, then delivered. */
export async function throughput(
  pipeline: Pipeline,
  options: { messages: number; concurrency: number; timeoutMs: number; cpu: () => Cpu },
): Promise<Throughput> {
  const { endpoint } = pipeline;
  endpoint.reset();
  const first = takeSeqs(options.messages);
  const cpuBefore = options.cpu();
  const roundTripsBefore = pipeline.roundTrips?.();
  const { start, failed, acceptedPerSec } = await timedBurst(options.messages, options.concurrency, (i) =>
    pipeline.send(first + i),
  );
  await waitDelivered(pipeline, options.messages - failed, options.timeoutMs);
  const cpuAfter = options.cpu();
  const delivered = endpoint.delivered();
  const lastReceipt = Math.max(start, ...endpoint.receivedAt.values());
  return {
    messages: options.messages,
    failedSends: failed,
    delivered,
    rejectedSignatures: endpoint.rejected(),
    acceptedPerSec,
    deliveredPerSec: delivered ? (delivered * 1000) / (lastReceipt - start) : 0,
    cpuMsPerMessage: cpuDelta(cpuBefore, cpuAfter, delivered),
    ...(pipeline.roundTrips &&
      roundTripsBefore !== undefined && {
        roundTripsPerMessage: (pipeline.roundTrips() - roundTripsBefore) / delivered,
      }),
  };
}

export interface PacedLatency extends Latency {
  messages: number;
  perSecond: number;
  failedSends: number;
  rejectedSignatures: number;
}

/** Send-to-POST latency at a steady rate: from the start of the send to the endpoint's receipt. */
export async function pacedLatency(
  pipeline: Pipeline,
  options: { messages: number; perSecond: number; timeoutMs: number },
): Promise<PacedLatency> {
  const { endpoint } = pipeline;
  endpoint.reset();
  const first = takeSeqs(options.messages);
  const { sentAt, failed } = await paced(options.messages, options.perSecond, (i) =>
    pipeline.send(first + i),
  );
  await waitDelivered(pipeline, options.messages - failed, options.timeoutMs);
  const samples = sentAt.flatMap((at, i) => {
    const received = endpoint.receivedAt.get(first + i);
    return received === undefined ? [] : [received - at];
  });
  return {
    ...latency(samples),
    messages: options.messages,
    perSecond: options.perSecond,
    failedSends: failed,
    rejectedSignatures: endpoint.rejected(),
  };
}
