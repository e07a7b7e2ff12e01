import {
  type Ctx,
  type Db,
  deliver,
  dispatch,
  dispatcherOf,
  handOff,
  type Target,
} from '@agent-messaging/core';
import type { Context } from 'hono';
import type { AppEnv } from './types';

/** The domain context of this request, for a service call. */
export const ctxOf = (c: Context<AppEnv>): Ctx => ({
  db: c.var.db,
  config: c.var.config,
  principal: c.var.principal,
});

/** What a write left to push: rows it claimed itself, and rows due for the dispatcher. */
export interface Outbox {
  claimed?: Target[];
  deliveryIds: string[];
}

/**
 * After commit: this invocation pushes a small outbox itself (function-to-function HTTP to the
 * agents' endpoints, no hop through the dispatcher): the rows it inserted already claimed, and up to
 * DISPATCH_CONCURRENCY due rows, which it claims first. A larger fan-out goes to the dispatcher in
 * batches. The sweeper catches whatever this misses (a claim's lease runs out if this invocation
 * dies). Returns the work, for a caller that wants to know when the push is done.
 */
export function pushSoon(c: Context<AppEnv>, outbox: Outbox, db: Db = c.var.db): Promise<void> {
  const { config } = c.var;
  const work: Promise<unknown>[] = [];
  if (outbox.claimed?.length) work.push(deliver(db, config, outbox.claimed));
  const ids = outbox.deliveryIds;
  if (ids.length > config.DISPATCH_CONCURRENCY) {
    work.push(handOff(dispatcherOf(c.env), ids, config.DISPATCH_BATCH));
  } else if (ids.length > 0) {
    work.push(dispatch(db, config, { ids, limit: ids.length }));
  }
  if (work.length === 0) return Promise.resolve();
  const done = Promise.all(work).then(() => undefined);
  c.var.background(done);
  return done;
}

/** Hands the result's outbox to be pushed and returns the rest as the response body. */
export function withPush<T extends { deliveryIds: string[] }>(
  c: Context<AppEnv>,
  result: T,
): Omit<T, 'deliveryIds'> {
  const { deliveryIds, ...body } = result;
  pushSoon(c, { deliveryIds });
  return body;
}

/** The body of an idempotent write: its outbox pushed, a replay marked `idempotent-replayed`. */
export function replayable<T>(c: Context<AppEnv>, result: { body: T; replayed: boolean } & Outbox): T {
  pushSoon(c, result);
  if (result.replayed) c.header('idempotent-replayed', 'true');
  return result.body;
}
