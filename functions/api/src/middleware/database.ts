import { loadConfig, openDb } from '@agent-messaging/core';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../types';

/** Validates the env and opens a pool for this request only, closed after the response is sent. */
export const database = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const config = loadConfig(c.env);
    const { db, close } = openDb(config);
    c.set('config', config);
    c.set('db', db);
    try {
      await next();
    } finally {
      c.executionCtx.waitUntil(close());
    }
  });
