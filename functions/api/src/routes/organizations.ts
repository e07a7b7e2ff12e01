import { createOrganization } from '@agent-messaging/core';
import { createRoute, z } from '@hono/zod-openapi';
import { ctxOf } from '../context';
import { json, jsonBody, Organization, problemResponses } from '../schemas';
import type { App } from '../types';

const route = createRoute({
  method: 'post',
  path: '/v1/organizations',
  tags: ['Organizations'],
  summary: 'Create an organization (admin token); returns its organization key once',
  security: [{ bearer: [] }],
  request: {
    body: jsonBody(
      z
        .object({
          name: z.string().trim().min(1).max(200),
          externalId: z.string().min(1).max(200).optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: json(
      z.object({ organization: Organization, apiKey: z.string().openapi({ example: 'am_org_...' }) }),
      'Created; apiKey is shown only this once',
    ),
    ...problemResponses(400, 401, 403, 409, 413, 415),
  },
});

export const registerOrganizations = (app: App) =>
  app.openapi(route, async (c) => c.json(await createOrganization(ctxOf(c), c.req.valid('json')), 201));
