import {
  createOrganization,
  deactivateOrganization,
  getOrganization,
  getOwnOrganization,
  whoami,
} from '@agent-messaging/core';
import { createRoute, z } from '@hono/zod-openapi';
import { ctxOf } from '../context';
import { checksKeyInStatement } from '../middleware/authenticate';
import {
  bearerAuth,
  DirectoryEntry,
  json,
  jsonBody,
  Organization,
  OrganizationId,
  problemResponses,
} from '../schemas';
import type { App } from '../types';

const tags = ['Organizations'];
const idParam = z.object({ id: OrganizationId.openapi({ param: { name: 'id', in: 'path' } }) });
const one = json(z.object({ organization: Organization }), 'The organization');

export const create = createRoute({
  method: 'post',
  path: '/v1/organizations',
  tags,
  summary: 'Create an organization (admin token); returns its organization key once',
  security: bearerAuth,
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

const OrganizationSummary = z.object({ id: OrganizationId, name: z.string() }).openapi('OrganizationSummary');

export const me = createRoute({
  method: 'get',
  path: '/v1/me',
  tags,
  summary:
    'Who you are: the kind of your credential, your organization, and for an agent token your own entry',
  security: bearerAuth,
  middleware: [checksKeyInStatement] as const,
  responses: {
    200: json(
      z
        .object({
          kind: z.enum(['organization', 'agent']),
          organization: OrganizationSummary,
          agent: DirectoryEntry.nullable(),
        })
        .openapi('Whoami'),
      'You',
    ),
    ...problemResponses(401, 403),
  },
});

export const own = createRoute({
  method: 'get',
  path: '/v1/organization',
  tags,
  summary: 'Your organization (organization key: all of it; agent token: its id and name)',
  security: bearerAuth,
  responses: {
    200: json(
      z.object({
        organization: z.union([Organization, OrganizationSummary]),
      }),
      'The organization',
    ),
    ...problemResponses(401, 403),
  },
});

export const get = createRoute({
  method: 'get',
  path: '/v1/organizations/{id}',
  tags,
  summary: 'Any organization, deactivated ones included (admin token)',
  security: bearerAuth,
  request: { params: idParam },
  responses: { 200: one, ...problemResponses(400, 401, 403, 404) },
});

export const deactivate = createRoute({
  method: 'delete',
  path: '/v1/organizations/{id}',
  tags,
  summary:
    'Deactivate an organization (admin token): keys revoked, agents deactivated, meetings and sessions ended, deliveries stopped; history kept',
  security: bearerAuth,
  request: { params: idParam },
  responses: { 200: one, ...problemResponses(400, 401, 403, 404) },
});

export const registerOrganizations = (app: App) =>
  app
    .openapi(create, async (c) => c.json(await createOrganization(ctxOf(c), c.req.valid('json')), 201))
    .openapi(me, async (c) => c.json(await whoami(ctxOf(c)), 200))
    .openapi(own, async (c) => c.json(await getOwnOrganization(ctxOf(c)), 200))
    .openapi(get, async (c) => c.json(await getOrganization(ctxOf(c), c.req.valid('param').id), 200))
    .openapi(deactivate, async (c) =>
      c.json(await deactivateOrganization(ctxOf(c), c.req.valid('param').id), 200),
    );
