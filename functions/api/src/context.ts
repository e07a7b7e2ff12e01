import { type Ctx, dispatcherOf, handOff } from '@agent-messaging/core';
import type { Context } from 'hono';
import type { AppEnv } from './types';

/** The domain context of this request, for a service call. */
export const ctxOf = (c: Context<AppEnv>): Ctx => ({
  db: c.var.db,
  config: c.var.config,
  principal: c.var.principal,
});

/**
 * After commit, hands fresh outbox rows to the dispatcher; the sweeper catches whatever this misses.
 * Returns the hand-off, for a caller that wants to know when the push is done.
 */
export function pushSoon(c: Context<AppEnv>, deliveryIds: string[]): Promise<void> {
  if (deliveryIds.length === 0) return Promise.resolve();
  const handoff = handOff(dispatcherOf(c.env), deliveryIds, c.var.config.DISPATCH_BATCH);
  c.executionCtx.waitUntil(handoff);
  return handoff;
}

/** Hands the result's outbox ids to the dispatcher and returns the rest as the response body. */
export function withPush<T extends { deliveryIds: string[] }>(
  c: Context<AppEnv>,
  result: T,
): Omit<T, 'deliveryIds'> {
  const { deliveryIds, ...body } = result;
  pushSoon(c, deliveryIds);
  return body;
}

/** The body of an idempotent write: its outbox handed off, a replay marked `idempotent-replayed`. */
export function replayable<T>(
  c: Context<AppEnv>,
  result: { body: T; replayed: boolean; deliveryIds: string[] },
): T {
  pushSoon(c, result.deliveryIds);
  if (result.replayed) c.header('idempotent-replayed', 'true');
  return result.body;
}
