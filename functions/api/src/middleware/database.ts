import { armTicker, loadConfig, openDb, tickerOf } from '@agent-messaging/core';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../types';

/**
 * Validates the env and opens the request's database. Work the request leaves running after its
 * response (its own deliveries) is registered with `c.get('background')`; the database closes after it.
 * The deadlines it leaves go to the sweeper's ticker with `c.get('wake')`, also after the response.
 */
export const database = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const config = loadConfig(c.env);
    const { db, close } = openDb(config);
    const pending: Promise<unknown>[] = [];
    c.set('config', config);
    c.set('db', db);
    const background = (work: Promise<unknown>) => {
      pending.push(work);
      c.executionCtx.waitUntil(work);
    };
    c.set('background', background);
    c.set('wake', (at) => {
      if (at !== null) background(armTicker(tickerOf(c.env), at));
    });
    try {
      await next();
    } finally {
      c.executionCtx.waitUntil(Promise.allSettled(pending).then(close));
    }
  });
