import {
  countMessages,
  getMessage,
  listMessages,
  redeliverMessage,
  searchMessages,
  sendMessage,
} from '@agent-messaging/core';
import { createRoute, z } from '@hono/zod-openapi';
import { ctxOf, pushSoon, replayable } from '../context';
import { checksKeyInStatement } from '../middleware/authenticate';
import {
  AgentRef,
  bearerAuth,
  Delivery,
  DeliveryAttempt,
  idempotencyKeyHeader,
  JsonContent,
  json,
  jsonBody,
  MeetingId,
  Message,
  MessageId,
  Metadata,
  messageIdParam,
  noBody,
  problemResponses,
  SessionId,
} from '../schemas';
import type { App } from '../types';

const tags = ['Messages'];

export const send = createRoute({
  method: 'post',
  path: '/v1/messages',
  tags,
  security: bearerAuth,
  summary: 'Send a one-way message (agent token) to one agent, or to several (one message each)',
  middleware: [checksKeyInStatement] as const,
  request: {
    headers: idempotencyKeyHeader,
    body: jsonBody(
      z
        .object({
          to: z.union([AgentRef, z.array(AgentRef).min(1).max(100)]),
          content: JsonContent,
          metadata: Metadata.optional(),
        })
        .strict(),
    ),
  },
  responses: {
    202: json(
      z.union([z.object({ message: Message }), z.object({ messages: z.array(Message) })]),
      'Accepted: stored in the inbox and queued for delivery',
    ),
    ...problemResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

export const get = createRoute({
  method: 'get',
  path: '/v1/messages/{id}',
  tags,
  security: bearerAuth,
  summary: 'A message with its delivery status and attempts (sender, recipient or organization key)',
  request: { params: messageIdParam },
  responses: {
    200: json(
      z.object({ message: Message, delivery: Delivery.nullable(), attempts: z.array(DeliveryAttempt) }),
      'The message',
    ),
    ...problemResponses(400, 401, 404),
  },
});

/** A JSON object in a query parameter (`metadata={"k":"v"}`), matched by containment. */
const JsonObjectParam = z
  .string()
  .transform((text, ctx) => {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
    return z.NEVER;
  })
  .openapi({
    type: 'string',
    description: 'A JSON object; messages whose metadata contains it',
    example: '{"topic":"billing"}',
  });

const filters = z.object({
  agentId: AgentRef.optional().openapi({
    description: "Organization key: this agent's messages (else the organization's)",
  }),
  direction: z.enum(['sent', 'received']).optional().openapi({ description: 'Default: both' }),
  with: AgentRef.optional().openapi({ description: 'The other party' }),
  kind: z.enum(['user', 'system', 'timeout', 'ending']).optional(),
  sessionId: SessionId.optional(),
  meetingId: MeetingId.optional(),
  since: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Created at or after' }),
  until: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Created before' }),
  metadata: JsonObjectParam.optional(),
  acknowledged: z
    .enum(['true', 'false'])
    .transform((flag) => flag === 'true')
    .optional(),
  status: Message.shape.status
    .optional()
    .openapi({ description: "The delivery's status (dead: the dead letters)" }),
});

export const list = createRoute({
  method: 'get',
  path: '/v1/messages',
  tags,
  security: bearerAuth,
  summary:
    'Your messages, sent and received, newest first (agent token; organization key: any agent, or all)',
  middleware: [checksKeyInStatement] as const,
  request: {
    query: filters
      .extend({
        cursor: MessageId.optional().openapi({ description: 'nextCursor of the previous (newer) page' }),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      })
      .strict(),
  },
  responses: {
    200: json(
      z.object({ messages: z.array(Message), nextCursor: MessageId.nullable() }),
      'A page, newest first',
    ),
    ...problemResponses(400, 401, 403, 404),
  },
});

export const count = createRoute({
  method: 'get',
  path: '/v1/messages/count',
  tags,
  security: bearerAuth,
  summary: 'How many messages match the same filters as the listing',
  middleware: [checksKeyInStatement] as const,
  request: { query: filters.strict() },
  responses: {
    200: json(z.object({ count: z.number().int() }), 'The count'),
    ...problemResponses(400, 401, 403, 404),
  },
});

export const search = createRoute({
  method: 'get',
  path: '/v1/messages/search',
  tags,
  security: bearerAuth,
  summary: 'Full-text search of messages, best first, with snippets',
  description:
    'Web search syntax (words, "a phrase", -word, or) over the text of the content, English stemming. An agent finds what it sent or received and what was said in its meetings; the organization key finds all of its organization.',
  middleware: [checksKeyInStatement] as const,
  request: {
    query: z
      .object({
        q: z.string().min(1).max(500),
        with: filters.shape.with,
        sessionId: filters.shape.sessionId,
        meetingId: filters.shape.meetingId,
        kind: filters.shape.kind,
        cursor: z.string().max(200).optional().openapi({ description: 'nextCursor of the previous page' }),
        limit: z.coerce.number().int().min(1).max(50).default(20),
      })
      .strict(),
  },
  responses: {
    200: json(
      z.object({
        results: z.array(
          z
            .object({
              message: Message,
              rank: z.number(),
              snippet: z
                .string()
                .openapi({ description: 'Where the words were found, each in <mark></mark>' }),
            })
            .openapi('SearchHit'),
        ),
        nextCursor: z.string().nullable(),
      }),
      'Hits, best first',
    ),
    ...problemResponses(400, 401, 403, 404),
  },
});

export const redeliver = createRoute({
  method: 'post',
  path: '/v1/messages/{id}/redeliver',
  tags,
  security: bearerAuth,
  summary: 'Re-drive a dead delivery (organization key)',
  request: { params: messageIdParam, body: noBody },
  responses: {
    202: json(z.object({ message: Message }), 'Queued again'),
    ...problemResponses(400, 401, 403, 404, 409),
  },
});

export const registerMessages = (app: App) =>
  app
    .openapi(send, async (c) => {
      const result = await sendMessage(
        ctxOf(c),
        c.req.valid('json'),
        c.req.valid('header')['idempotency-key'],
      );
      return c.json(replayable(c, result), 202);
    })
    .openapi(list, async (c) => c.json(await listMessages(ctxOf(c), c.req.valid('query')), 200))
    // Before /v1/messages/{id}, which would take "count" or "search" for an id.
    .openapi(count, async (c) => c.json(await countMessages(ctxOf(c), c.req.valid('query')), 200))
    .openapi(search, async (c) => c.json(await searchMessages(ctxOf(c), c.req.valid('query')), 200))
    .openapi(get, async (c) => c.json(await getMessage(ctxOf(c), c.req.valid('param').id), 200))
    .openapi(redeliver, async (c) => {
      const { message, deliveryIds } = await redeliverMessage(ctxOf(c), c.req.valid('param').id);
      pushSoon(c, { deliveryIds });
      return c.json({ message }, 202);
    });
