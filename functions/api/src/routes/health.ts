import { describeForLog, fail } from '@agent-messaging/core';
import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { json, problems } from '../schemas';
import type { App } from '../types';

export const route = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['Health'],
  security: [],
  summary: 'Liveness and database reachability',
  responses: {
    200: json(z.object({ status: z.literal('ok'), database: z.literal('ok') }), 'Healthy'),
    503: problems[503],
  },
});

export const registerHealth = (app: App) =>
  app.openapi(route, async (c) => {
    try {
      await c.get('db').execute(sql`SELECT 1`);
    } catch (error) {
      console.error('health check: database unreachable:', describeForLog(error));
      throw fail.unavailable('The database is unreachable.');
    }
    return c.json({ status: 'ok' as const, database: 'ok' as const }, 200);
  });
