import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../types';

/** A body this small is read to the end even when the answer did not need it. */
const DRAIN_LIMIT_BYTES = 1 << 20;

/**
 * Reads what is left of a small request body once the answer is ready (a refusal before the body
 * was parsed, say). The runtime closes a connection whose request body was left unread, without
 * saying so in the response, and a client that sends its next request on it meanwhile sees the
 * connection drop; read to the end, the connection stays usable. Bodies without a length, or
 * larger, are left alone: closing is then the right answer.
 */
export const drainUnreadBody = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const request = c.req.raw;
    await next();
    const length = Number(request.headers.get('content-length') ?? Number.NaN);
    if (request.body && !request.bodyUsed && length <= DRAIN_LIMIT_BYTES) {
      await request.arrayBuffer().catch(() => undefined);
    }
  });
