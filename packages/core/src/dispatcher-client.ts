import type { Wake } from './ticker';

/** A service binding (Cloudflare) to another worker: `env.DISPATCHER`. */
export interface ServiceBinding {
  fetch(input: string, init?: RequestInit): Promise<Response>;
}

export interface DispatchRequest {
  /** Deliver these outbox rows if they are still due (right after the write that made them). */
  ids?: string[];
  /** Or claim up to this many due rows (the sweeper). */
  limit?: number;
}

/** The dispatcher's service binding: `DISPATCHER` locally, `Dispatcher` when SST links the worker. */
export function dispatcherOf(env: {
  DISPATCHER?: ServiceBinding;
  Dispatcher?: ServiceBinding;
}): ServiceBinding {
  const binding = env.DISPATCHER ?? env.Dispatcher;
  if (!binding) throw new Error('no dispatcher binding (DISPATCHER, or Dispatcher linked by SST)');
  return binding;
}

/** What the dispatcher did, and the earliest deadline it left (epoch ms), for the ticker. */
export interface DispatchResponse {
  claimed: number;
  delivered: number;
  failed: number;
  dead: number;
  wakeAt: number | null;
}

/** Internal origin for calls over a service binding; the host part is ignored by the binding. */
const DISPATCHER_URL = 'https://dispatcher.internal/dispatch';

export async function callDispatcher(dispatcher: ServiceBinding, request: DispatchRequest) {
  const response = await dispatcher.fetch(DISPATCHER_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  if (!response.ok) throw new Error(`dispatcher answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as DispatchResponse;
}

/**
 * Hands fresh outbox rows to the dispatcher in batches, one dispatcher invocation per batch, so a
 * fan-out never becomes one long loop in one invocation. The deadlines the dispatcher left go to
 * `wake`; a batch it did not take is due now, for the sweeper: `wake` hears that too.
 */
export async function handOff(
  dispatcher: ServiceBinding,
  ids: string[],
  batchSize: number,
  wake: Wake,
): Promise<void> {
  const batches: string[][] = [];
  for (let i = 0; i < ids.length; i += batchSize) batches.push(ids.slice(i, i + batchSize));
  const results = await Promise.allSettled(
    batches.map((batch) => callDispatcher(dispatcher, { ids: batch })),
  );
  for (const result of results) {
    if (result.status === 'fulfilled') {
      wake(result.value.wakeAt);
    } else {
      console.warn('hand-off to dispatcher failed; the sweeper will retry', String(result.reason));
      wake(Date.now());
    }
  }
}
