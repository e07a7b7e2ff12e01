import { getMessage, redeliverMessage, sendMessage } from '@agent-messaging/core';
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
  Message,
  Metadata,
  messageIdParam,
  noBody,
  problemResponses,
} from '../schemas';
import type { App } from '../types';

const tags = ['Messages'];

const send = createRoute({
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

const get = createRoute({
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

const redeliver = createRoute({
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
    .openapi(get, async (c) => c.json(await getMessage(ctxOf(c), c.req.valid('param').id), 200))
    .openapi(redeliver, async (c) => {
      const { message, deliveryIds } = await redeliverMessage(ctxOf(c), c.req.valid('param').id);
      pushSoon(c, { deliveryIds });
      return c.json({ message }, 202);
    });
