import {
  type Ctx,
  type Db,
  deliver,
  dispatch,
  dispatcherOf,
  handOff,
  leaseMs,
  type Target,
} from '@agent-messaging/core';
import type { Context } from 'hono';
import type { AppEnv } from './types';

/** The domain context of this request, for a service call. */
export const ctxOf = (c: Context<AppEnv>): Ctx => ({
  db: c.get('db'),
  config: c.get('config'),
  principal: c.get('principal'),
});

/**
 * What a write left to do: rows it claimed itself and rows due, to push, and the deadline it left
 * (a meeting's next turn, epoch ms) for the sweeper's ticker.
 */
export interface Outbox {
  claimed?: Target[];
  deliveryIds: string[];
  wakeAt?: number | null;
}

/**
 * After commit: this invocation pushes a small outbox itself (function-to-function HTTP to the
 * agents' endpoints, no hop through the dispatcher): the rows it inserted already claimed, and up to
 * DISPATCH_CONCURRENCY due rows, which it claims first. A larger fan-out goes to the dispatcher in
 * batches. The sweeper catches whatever this misses: the ticker is armed for the end of the
 * claims' lease first, in case this invocation dies, and for every retry the pushes leave. Returns
 * the work, for a caller that wants to know when the push is done.
 */
export function pushSoon(c: Context<AppEnv>, outbox: Outbox, db: Db = c.get('db')): Promise<void> {
  const config = c.get('config');
  const wake = c.get('wake');
  wake(outbox.wakeAt ?? null);
  const ids = outbox.deliveryIds;
  if (!outbox.claimed?.length && ids.length === 0) return Promise.resolve();
  wake(Date.now() + leaseMs(config));
  const work: Promise<unknown>[] = [];
  if (outbox.claimed?.length) work.push(deliver(db, config, outbox.claimed, wake));
  if (ids.length > config.DISPATCH_CONCURRENCY) {
    work.push(handOff(dispatcherOf(c.env), ids, config.DISPATCH_BATCH, wake));
  } else if (ids.length > 0) {
    work.push(dispatch(db, config, { ids, limit: ids.length }, wake));
  }
  const done = Promise.all(work).then(() => undefined);
  c.get('background')(done);
  return done;
}

/** Hands the result's outbox to be pushed and returns the rest as the response body. */
export function withPush<T extends Outbox>(c: Context<AppEnv>, result: T): Omit<T, keyof Outbox> {
  const { claimed, deliveryIds, wakeAt, ...body } = result;
  pushSoon(c, { ...(claimed && { claimed }), deliveryIds, wakeAt });
  return body;
}

/** The body of an idempotent write: its outbox pushed, a replay marked `idempotent-replayed`. */
export function replayable<T>(c: Context<AppEnv>, result: { body: T; replayed: boolean } & Outbox): T {
  pushSoon(c, result);
  if (result.replayed) c.header('idempotent-replayed', 'true');
  return result.body;
}
