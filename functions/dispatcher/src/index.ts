import { describeForLog, dispatch, earliestWake, loadConfig, openDb } from '@agent-messaging/core';
import { z } from 'zod';

// Internal worker, reached only through service bindings (api, sweeper): it has no public route.

const DispatchRequest = z
  .object({
    ids: z.array(z.string()).min(1).max(100).optional(),
    limit: z.number().int().min(1).max(100).optional(),
  })
  .strict();

interface Ctx {
  waitUntil(promise: Promise<unknown>): void;
}

function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

export default {
  async fetch(request: Request, env: Record<string, unknown>, ctx: Ctx): Promise<Response> {
    if (request.method !== 'POST' || new URL(request.url).pathname !== '/dispatch') {
      return jsonResponse({ error: 'POST /dispatch only' }, 404);
    }
    const parsed = DispatchRequest.safeParse(await request.json().catch(() => null));
    if (!parsed.success) return jsonResponse({ error: parsed.error.message }, 400);
    const config = loadConfig(env);
    const { db, close } = openDb(config);
    try {
      const { ids } = parsed.data;
      // The dispatcher cannot reach the ticker (it is bound to the sweeper, which calls this
      // worker): the deadlines it leaves go back to its caller, who tells the ticker.
      const deadlines = earliestWake();
      const summary = await dispatch(
        db,
        config,
        { ...(ids && { ids }), limit: ids ? ids.length : (parsed.data.limit ?? config.DISPATCH_BATCH) },
        deadlines.wake,
      );
      return jsonResponse({ ...summary, wakeAt: deadlines.wakeAt });
    } catch (error) {
      console.error('dispatch failed:', describeForLog(error));
      return jsonResponse({ error: 'dispatch failed' }, 500);
    } finally {
      ctx.waitUntil(close());
    }
  },
};
