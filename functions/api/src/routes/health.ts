import { AppError, describeForLog } from '@agent-messaging/core';
import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { json, Problem } from '../schemas';
import type { App } from '../types';

export const route = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['Health'],
  security: [],
  summary: 'Liveness and database reachability',
  responses: {
    200: json(z.object({ status: z.literal('ok'), database: z.literal('ok') }), 'Healthy'),
    503: {
      content: { 'application/problem+json': { schema: Problem } },
      description: 'Database unreachable',
    },
  },
});

export const registerHealth = (app: App) =>
  app.openapi(route, async (c) => {
    try {
      await c.get('db').execute(sql`SELECT 1`);
    } catch (error) {
      console.error('health check: database unreachable:', describeForLog(error));
      throw new AppError(503, 'service_unavailable', 'The database is unreachable.');
    }
    return c.json({ status: 'ok' as const, database: 'ok' as const }, 200);
  });
