import { endSession, replyToSession } from '@agent-messaging/core';
import { createRoute, z } from '@hono/zod-openapi';
import { ctxOf, withPush } from '../context';
import {
  bearerAuth,
  JsonContent,
  json,
  jsonBody,
  Message,
  MessageId,
  Metadata,
  noBody,
  problemResponses,
  Session,
  sessionIdParam,
} from '../schemas';
import type { App } from '../types';

const tags = ['Conversations'];

const reply = createRoute({
  method: 'post',
  path: '/v1/sessions/{id}/reply',
  tags,
  security: bearerAuth,
  summary: 'Answer a sync request addressed to you in this session (once; late is fine)',
  request: {
    params: sessionIdParam,
    body: jsonBody(
      z
        .object({
          content: JsonContent,
          requestId: MessageId.optional().openapi({
            description:
              'The request answered (its message id). Default: the pending request addressed to you, else the latest one.',
          }),
          metadata: Metadata.optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: json(
      z.object({
        message: Message,
        late: z
          .boolean()
          .openapi({ description: 'The sender had stopped waiting: the reply is in its inbox' }),
      }),
      'Reply recorded',
    ),
    ...problemResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

const end = createRoute({
  method: 'post',
  path: '/v1/sessions/{id}/end',
  tags,
  security: bearerAuth,
  summary: 'End the session (either participant); a waiting sender is released',
  request: { params: sessionIdParam, body: noBody },
  responses: {
    200: json(z.object({ session: Session, message: Message }), 'Ended; message is the ending message'),
    ...problemResponses(400, 401, 403, 404, 409),
  },
});

export const registerSessions = (app: App) =>
  app
    .openapi(reply, async (c) =>
      c.json(withPush(c, await replyToSession(ctxOf(c), c.req.valid('param').id, c.req.valid('json'))), 201),
    )
    .openapi(end, async (c) => c.json(withPush(c, await endSession(ctxOf(c), c.req.valid('param').id)), 200));
