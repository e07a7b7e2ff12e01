import { loadConfig } from '@agent-messaging/core';
import { cors } from 'hono/cors';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../types';

/**
 * Cross-origin requests are off unless CORS_ORIGINS names the browser origins allowed to call the
 * API (a web app of yours): then those origins, with the headers the API takes and answers. The
 * credential is a bearer token, never a cookie, so no credentials mode.
 */
export const corsIfConfigured = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const origins = loadConfig(c.env).CORS_ORIGINS;
    if (origins.length === 0) return next();
    return cors({
      origin: origins,
      allowMethods: ['GET', 'POST', 'PATCH', 'DELETE'],
      allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'last-event-id', 'accept'],
      exposeHeaders: ['retry-after', 'ratelimit', 'ratelimit-policy', 'idempotent-replayed'],
      maxAge: 600,
    })(c, next);
  });
