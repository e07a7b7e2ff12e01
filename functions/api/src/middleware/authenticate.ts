import { identify, verifyPrincipal } from '@agent-messaging/core';
import { createMiddleware } from 'hono/factory';
import { matchedRoutes } from 'hono/route';
import type { AppEnv } from '../types';

/**
 * Marks an agent route whose operation checks the caller's key inside its own statement
 * (`authorizedSql`), so authentication costs it no round trip of its own. Put it in the route's
 * `middleware`; every other route, and any other kind of key, has the key checked before the
 * handler runs.
 */
export const checksKeyInStatement = createMiddleware<AppEnv>((_c, next) => next());

/** Every /v1 route needs a bearer token; the route's service decides which kinds may act. */
export const authenticate = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const principal = await identify(c.get('db'), c.get('config'), c.req.header('authorization'));
    const checkedLater =
      principal.kind === 'agent' && matchedRoutes(c).some((route) => route.handler === checksKeyInStatement);
    if (!checkedLater) {
      await verifyPrincipal(c.get('db'), principal);
    }
    c.set('principal', principal);
    await next();
  });
