import { loadConfig, openDb } from '@agent-messaging/core';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../types';

/**
 * Validates the env and opens the request's database. Work the request leaves running after its
 * response (its own deliveries) is registered with `c.var.background`; the database closes after it.
 */
export const database = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const config = loadConfig(c.env);
    const { db, close } = openDb(config);
    const pending: Promise<unknown>[] = [];
    c.set('config', config);
    c.set('db', db);
    c.set('background', (work) => {
      pending.push(work);
      c.executionCtx.waitUntil(work);
    });
    try {
      await next();
    } finally {
      c.executionCtx.waitUntil(Promise.allSettled(pending).then(close));
    }
  });
