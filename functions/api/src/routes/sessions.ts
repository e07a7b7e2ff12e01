import { endSession, getSession, listSessions, replyToSession, sessionMessages } from '@agent-messaging/core';
import { createRoute, z } from '@hono/zod-openapi';
import { ctxOf, withPush } from '../context';
import { checksKeyInStatement } from '../middleware/authenticate';
import {
  AgentId,
  AgentRef,
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

const SessionSummary = Session.extend({
  peerId: AgentId.nullable().openapi({
    description: 'The other agent than the one listed for (null in an organization-wide listing)',
  }),
}).openapi('SessionSummary');

export const list = createRoute({
  method: 'get',
  path: '/v1/sessions',
  tags,
  security: bearerAuth,
  summary:
    "Your sessions, newest first (agent token), or the organization's (its key; agentId for one agent's)",
  request: {
    query: z
      .object({
        status: z.enum(['active', 'waiting', 'ended']).optional(),
        with: AgentRef.optional().openapi({ description: 'The peer' }),
        agentId: AgentRef.optional().openapi({ description: "Organization key: this agent's sessions" }),
        cursor: z.string().optional().openapi({ description: 'nextCursor of the previous page' }),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      })
      .strict(),
  },
  responses: {
    200: json(z.object({ sessions: z.array(SessionSummary), nextCursor: z.string().nullable() }), 'A page'),
    ...problemResponses(400, 401, 403, 404),
  },
});

const SideCounts = z.object({
  agentId: AgentId,
  sent: z.number().int(),
  unacknowledged: z.number().int().openapi({ description: 'Messages to this agent it has not acknowledged' }),
});

export const get = createRoute({
  method: 'get',
  path: '/v1/sessions/{id}',
  tags,
  security: bearerAuth,
  summary: 'A session with its counts (either participant, or the organization key)',
  request: { params: sessionIdParam },
  responses: {
    200: json(
      z.object({
        session: Session,
        counts: z
          .object({
            messages: z.number().int(),
            unacknowledged: z.number().int(),
            bySide: z.array(SideCounts),
          })
          .openapi('SessionCounts'),
      }),
      'The session',
    ),
    ...problemResponses(400, 401, 403, 404),
  },
});

export const messages = createRoute({
  method: 'get',
  path: '/v1/sessions/{id}/messages',
  tags,
  security: bearerAuth,
  summary: "A session's messages in order, a page at a time",
  middleware: [checksKeyInStatement] as const,
  request: {
    params: sessionIdParam,
    query: z
      .object({
        after: MessageId.optional().openapi({ description: 'nextCursor of the previous page' }),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      })
      .strict(),
  },
  responses: {
    200: json(z.object({ messages: z.array(Message), nextCursor: MessageId.nullable() }), 'Oldest first'),
    ...problemResponses(400, 401, 403, 404),
  },
});

export const reply = createRoute({
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

export const end = createRoute({
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
    .openapi(list, async (c) => c.json(await listSessions(ctxOf(c), c.req.valid('query')), 200))
    .openapi(get, async (c) => c.json(await getSession(ctxOf(c), c.req.valid('param').id), 200))
    .openapi(messages, async (c) =>
      c.json(await sessionMessages(ctxOf(c), c.req.valid('param').id, c.req.valid('query')), 200),
    )
    .openapi(reply, async (c) =>
      c.json(withPush(c, await replyToSession(ctxOf(c), c.req.valid('param').id, c.req.valid('json'))), 201),
    )
    .openapi(end, async (c) => c.json(withPush(c, await endSession(ctxOf(c), c.req.valid('param').id)), 200));
