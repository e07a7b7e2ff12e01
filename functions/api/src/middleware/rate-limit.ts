import { AppError, credentialKey, RATE_LIMITS, type RateLimiter } from '@agent-messaging/core';
import { createMiddleware } from 'hono/factory';
import { problemResponse } from '../problem';
import type { AppEnv } from '../types';

/**
 * Each agent token and each organization key has its own budget of requests (RATE_LIMITS),
 * counted by the Workers rate limiting binding: no database work. Over it: 429 `rate_limited`
 * with Retry-After and the IETF RateLimit headers. The admin token is not limited. Without the
 * binding (a deployment that did not declare it), nothing is limited.
 */
export const rateLimit = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const principal = c.get('principal');
    if (principal.kind === 'admin') return next();
    const { binding, setting, period } = RATE_LIMITS[principal.kind];
    const limit = c.get('config')[setting];
    const limiter = c.env[binding] as RateLimiter | undefined;
    const key = credentialKey(principal);
    const policy = `"${principal.kind}";q=${limit};w=${period}`;
    if (limiter && !(await limiter.limit({ key })).success) {
      const response = problemResponse(
        new AppError(
          429,
          'rate_limited',
          `More than ${limit} requests in ${period} s from this credential; retry later.`,
        ),
      );
      response.headers.set('retry-after', String(period));
      response.headers.set('ratelimit-policy', policy);
      response.headers.set('ratelimit', `"${principal.kind}";r=0;t=${period}`);
      return response;
    }
    await next();
    c.res.headers.set('ratelimit-policy', policy);
  });
