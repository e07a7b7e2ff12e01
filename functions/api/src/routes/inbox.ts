import { ackInbox, readInbox } from '@agent-messaging/core';
import { createRoute, z } from '@hono/zod-openapi';
import { ctxOf } from '../context';
import { checksKeyInStatement } from '../middleware/authenticate';
import { AgentRef, bearerAuth, json, jsonBody, Message, MessageId, problemResponses } from '../schemas';
import type { App } from '../types';

const tags = ['Inbox'];

export const read = createRoute({
  method: 'get',
  path: '/v1/inbox',
  tags,
  security: bearerAuth,
  summary: 'Your unacknowledged messages, oldest first; reading does not acknowledge',
  middleware: [checksKeyInStatement] as const,
  request: {
    query: z
      .object({
        from: AgentRef.optional(),
        limit: z.coerce.number().int().min(1).max(200).default(50),
        waitMs: z.coerce
          .number()
          .int()
          .min(0)
          .max(30_000)
          .default(0)
          .openapi({ description: 'Long-poll: wait up to this long for a message when there is none' }),
      })
      .strict(),
  },
  responses: {
    200: json(z.object({ messages: z.array(Message) }), 'Unacknowledged messages'),
    ...problemResponses(400, 401, 403),
  },
});

export const ack = createRoute({
  method: 'post',
  path: '/v1/inbox/ack',
  tags,
  security: bearerAuth,
  summary: 'Acknowledge messages, by id or every one from an agent: they leave your inbox',
  description:
    'Ids that are not yours, unknown or already acknowledged are ignored. With both, the ids from `from`.',
  middleware: [checksKeyInStatement] as const,
  request: {
    body: jsonBody(
      z
        .object({ messageIds: z.array(MessageId).min(1).max(500).optional(), from: AgentRef.optional() })
        .strict()
        .refine((body) => body.messageIds || body.from, { message: 'give messageIds, from, or both' }),
    ),
  },
  responses: {
    200: json(
      z.object({ acknowledged: z.array(MessageId), count: z.number().int() }),
      'The ids acknowledged now, and how many',
    ),
    ...problemResponses(400, 401, 403, 413, 415),
  },
});

export const registerInbox = (app: App) =>
  app
    .openapi(read, async (c) => c.json(await readInbox(ctxOf(c), c.req.valid('query')), 200))
    .openapi(ack, async (c) => c.json(await ackInbox(ctxOf(c), c.req.valid('json')), 200));
