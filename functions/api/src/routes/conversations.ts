import {
  awaitReply,
  conversationHistory,
  deliverSyncRequest,
  leaseMs,
  sendAsync,
  startSyncRequest,
} from '@agent-messaging/core';
import { createRoute, z } from '@hono/zod-openapi';
import { ctxOf, replayable } from '../context';
import { checksKeyInStatement } from '../middleware/authenticate';
import {
  AgentRef,
  bearerAuth,
  idempotencyKeyHeader,
  JsonContent,
  json,
  jsonBody,
  Message,
  Metadata,
  problemResponses,
  SessionId,
} from '../schemas';
import type { App } from '../types';

const tags = ['Conversations'];

export const sync = createRoute({
  method: 'post',
  path: '/v1/conversations/sync',
  tags,
  security: bearerAuth,
  summary: 'Send a request and wait for the reply (agent token)',
  middleware: [checksKeyInStatement] as const,
  description:
    'Records the request, delivers a signed sync_request to the recipient, and holds this HTTP request until the reply exists (inline {reply} from the endpoint, or POST /v1/sessions/{id}/reply), the session ends (409 session_ended) or timeoutMs passes (504 timeout; a later reply lands in your inbox).',
  request: {
    headers: idempotencyKeyHeader,
    body: jsonBody(
      z
        .object({
          to: AgentRef,
          content: JsonContent,
          timeoutMs: z.number().int().min(100).openapi({ example: 30000 }),
          metadata: Metadata.optional(),
        })
        .strict(),
    ),
  },
  responses: {
    200: json(z.object({ sessionId: SessionId, reply: Message }), 'The reply'),
    ...problemResponses(400, 401, 403, 404, 409, 413, 415, 504),
  },
});

export const asyncSend = createRoute({
  method: 'post',
  path: '/v1/conversations/async',
  tags,
  security: bearerAuth,
  summary: "Send a message in the pair's session without waiting (agent token)",
  middleware: [checksKeyInStatement] as const,
  request: {
    headers: idempotencyKeyHeader,
    body: jsonBody(z.object({ to: AgentRef, content: JsonContent, metadata: Metadata.optional() }).strict()),
  },
  responses: {
    202: json(
      z.object({ message: Message, sessionId: SessionId }),
      'Stored in the inbox, queued for delivery',
    ),
    ...problemResponses(400, 401, 403, 404, 409, 413, 415),
  },
});

export const history = createRoute({
  method: 'get',
  path: '/v1/conversations/{agentId}/messages',
  tags,
  security: bearerAuth,
  summary: 'Everything between you and one agent, in order; pages go back in time',
  request: {
    params: z.object({ agentId: AgentRef.openapi({ param: { name: 'agentId', in: 'path' } }) }),
    query: z
      .object({
        before: z.string().optional().openapi({ description: 'nextCursor of the later page' }),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      })
      .strict(),
  },
  responses: {
    200: json(z.object({ messages: z.array(Message), nextCursor: z.string().nullable() }), 'Oldest first'),
    ...problemResponses(400, 401, 403, 404),
  },
});

export const registerConversations = (app: App) =>
  app
    .openapi(sync, async (c) => {
      const ctx = ctxOf(c);
      const started = await startSyncRequest(
        ctx,
        c.req.valid('json'),
        c.req.valid('header')['idempotency-key'],
      );
      const [target] = started.claimed;
      // Should this invocation die, the ticker ends the wait and retries the push on time.
      c.get('wake')(new Date(started.deadline).getTime());
      if (target) c.get('wake')(Date.now() + leaseMs(ctx.config));
      const inline =
        target &&
        started.request &&
        deliverSyncRequest(ctx.db, ctx.config, target, started.request, c.get('wake'));
      if (inline) c.get('background')(inline);
      const result = await awaitReply(ctx.db, {
        sessionId: started.sessionId,
        requestId: started.requestId,
        deadline: new Date(started.deadline),
        ...(inline && { inline }),
      });
      // A replayed send waits for the first send's reply: same response, marked as a replay.
      if (started.replayed) c.header('idempotent-replayed', 'true');
      return c.json(result, 200);
    })
    .openapi(asyncSend, async (c) => {
      const result = await sendAsync(ctxOf(c), c.req.valid('json'), c.req.valid('header')['idempotency-key']);
      return c.json(replayable(c, result), 202);
    })
    .openapi(history, async (c) =>
      c.json(
        await conversationHistory(ctxOf(c), {
          agentId: c.req.valid('param').agentId,
          ...c.req.valid('query'),
        }),
        200,
      ),
    );
