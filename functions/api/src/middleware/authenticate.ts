import { authenticate as resolvePrincipal } from '@agent-messaging/core';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../types';

/** Every /v1 route needs a bearer token; the route's service decides which kinds may act. */
export const authenticate = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    c.set('principal', await resolvePrincipal(c.var.db, c.var.config, c.req.header('authorization')));
    await next();
  });
