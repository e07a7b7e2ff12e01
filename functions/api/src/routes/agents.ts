import {
  agentStats,
  createAgent,
  deactivateAgent,
  getAgent,
  listAgents,
  rotateAgent,
  updateAgent,
} from '@agent-messaging/core';
import { createRoute, z } from '@hono/zod-openapi';
import { ctxOf, withPush } from '../context';
import { checksKeyInStatement } from '../middleware/authenticate';
import {
  Agent,
  AgentId,
  AgentInput,
  AgentRef,
  agentIdParam,
  bearerAuth,
  DirectoryEntry,
  json,
  jsonBody,
  noBody,
  problemResponses,
  timestamp,
} from '../schemas';
import type { App } from '../types';

const tags = ['Agents'];
const one = json(z.object({ agent: Agent }), 'The agent');
const withCredentials = z.object({
  agent: Agent,
  token: z.string().openapi({ example: 'am_agt_...' }),
  signingSecret: z.string().openapi({ example: 'whsec_...' }),
});

export const create = createRoute({
  method: 'post',
  path: '/v1/agents',
  tags,
  security: bearerAuth,
  summary: 'Create an agent (organization key); returns its token and signing secret once',
  request: {
    body: jsonBody(
      z
        .object({
          name: AgentInput.name,
          externalId: AgentInput.externalId.optional(),
          endpointUrl: AgentInput.endpointUrl.optional(),
          description: AgentInput.description.optional(),
          metadata: AgentInput.metadata.optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: json(withCredentials, 'Created; token and signingSecret are shown only this once'),
    ...problemResponses(400, 401, 403, 409, 413, 415),
  },
});

export const list = createRoute({
  method: 'get',
  path: '/v1/agents',
  tags,
  security: bearerAuth,
  summary: "The organization's agents (organization key), or its directory (agent token)",
  description:
    'An agent token sees its peers as directory entries (no endpoint URL, no secrets); the organization key sees every field.',
  request: {
    query: z
      .object({
        externalId: z.string().min(1).max(200).optional(),
        q: z
          .string()
          .min(1)
          .max(200)
          .optional()
          .openapi({ description: 'Text in the name, description or external id (case-insensitive)' }),
        cursor: z.string().optional().openapi({ description: 'nextCursor of the previous page' }),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      })
      .strict(),
  },
  responses: {
    200: json(
      z.object({ agents: z.array(z.union([Agent, DirectoryEntry])), nextCursor: z.string().nullable() }),
      'A page of agents, in creation order',
    ),
    ...problemResponses(400, 401, 403),
  },
});

export const get = createRoute({
  method: 'get',
  path: '/v1/agents/{id}',
  tags,
  security: bearerAuth,
  summary: 'Read an agent',
  request: { params: agentIdParam },
  responses: { 200: one, ...problemResponses(400, 401, 403, 404) },
});

export const update = createRoute({
  method: 'patch',
  path: '/v1/agents/{id}',
  tags,
  security: bearerAuth,
  summary: 'Change an agent; null clears a field',
  request: {
    params: agentIdParam,
    body: jsonBody(
      z
        .object({
          name: AgentInput.name.optional(),
          externalId: AgentInput.externalId.nullable().optional(),
          endpointUrl: AgentInput.endpointUrl.nullable().optional(),
          description: AgentInput.description.nullable().optional(),
          metadata: AgentInput.metadata.optional(),
        })
        .strict(),
    ),
  },
  responses: { 200: one, ...problemResponses(400, 401, 403, 404, 409, 413, 415) },
});

export const remove = createRoute({
  method: 'delete',
  path: '/v1/agents/{id}',
  tags,
  security: bearerAuth,
  summary:
    'Deactivate an agent: its tokens are revoked, its history kept; it leaves its meetings (those it hosts end)',
  request: { params: agentIdParam },
  responses: { 200: one, ...problemResponses(400, 401, 403, 404) },
});

export const rotate = createRoute({
  method: 'post',
  path: '/v1/agents/{id}/rotate',
  tags,
  security: bearerAuth,
  summary: 'Replace the agent token and signing secret; the old token stops working at once',
  request: { params: agentIdParam, body: noBody },
  responses: {
    200: json(withCredentials, 'New credentials, shown only this once'),
    ...problemResponses(400, 401, 403, 404, 409),
  },
});

export const stats = createRoute({
  method: 'get',
  path: '/v1/agents/{id}/stats',
  tags,
  security: bearerAuth,
  summary:
    "An agent's activity: sessions, messages, partners, meetings, turns (organization key, or the agent itself)",
  middleware: [checksKeyInStatement] as const,
  request: { params: z.object({ id: AgentRef.openapi({ param: { name: 'id', in: 'path' } }) }) },
  responses: {
    200: json(
      z
        .object({
          agentId: AgentId,
          sessions: z.object({ total: z.number().int(), open: z.number().int() }),
          messages: z.object({
            sent: z.number().int(),
            received: z.number().int(),
            unacknowledged: z.number().int(),
          }),
          partners: z.number().int().openapi({ description: 'Distinct agents it exchanged messages with' }),
          meetings: z.object({ hosted: z.number().int(), attended: z.number().int() }),
          turns: z.object({ taken: z.number().int(), timedOut: z.number().int() }),
          deliveries: z
            .object({
              delivered: z.number().int(),
              pending: z.number().int().openapi({ description: 'Queued or failed, to be tried again' }),
              dead: z.number().int(),
              lastDeliveredAt: timestamp.nullable(),
              lastFailure: z
                .object({ at: timestamp, status: z.number().int().nullable(), error: z.string().nullable() })
                .nullable()
                .openapi({ description: "The endpoint's latest failed attempt" }),
            })
            .openapi({ description: "Pushes to the agent's endpoint: its health" }),
        })
        .openapi('AgentStats'),
      'The figures',
    ),
    ...problemResponses(400, 401, 403, 404),
  },
});

export const registerAgents = (app: App) =>
  app
    .openapi(create, async (c) => c.json(await createAgent(ctxOf(c), c.req.valid('json')), 201))
    .openapi(list, async (c) => c.json(await listAgents(ctxOf(c), c.req.valid('query')), 200))
    .openapi(get, async (c) => c.json(await getAgent(ctxOf(c), c.req.valid('param').id), 200))
    .openapi(update, async (c) =>
      c.json(await updateAgent(ctxOf(c), c.req.valid('param').id, c.req.valid('json')), 200),
    )
    .openapi(remove, async (c) =>
      c.json(withPush(c, await deactivateAgent(ctxOf(c), c.req.valid('param').id)), 200),
    )
    .openapi(rotate, async (c) => c.json(await rotateAgent(ctxOf(c), c.req.valid('param').id), 200))
    .openapi(stats, async (c) => c.json(await agentStats(ctxOf(c), c.req.valid('param').id), 200));
