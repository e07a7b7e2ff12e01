import {
  attendMeeting,
  createMeeting,
  endMeeting,
  inviteToMeeting,
  leaveMeeting,
  listMeetings,
  meetingMessages,
  meetingStats,
  readMeeting,
  speak,
  startMeeting,
} from '@agent-messaging/core';
import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { ctxOf, replayable, withPush } from '../context';
import { checksKeyInStatement } from '../middleware/authenticate';
import {
  AgentRef,
  bearerAuth,
  idempotencyKeyHeader,
  JsonContent,
  json,
  jsonBody,
  Meeting,
  Message,
  Metadata,
  meetingIdParam,
  noBody,
  problemResponses,
} from '../schemas';
import type { App, AppEnv } from '../types';
import { eventsRoute, streamOrPollEvents } from './meeting-events';

const tags = ['Meetings'];
const meetingResponse = json(z.object({ meeting: Meeting }), 'The meeting');
const withMessage = json(
  z.object({ meeting: Meeting, message: Message.nullable() }),
  'The meeting and the message posted',
);

export const create = createRoute({
  method: 'post',
  path: '/v1/meetings',
  tags,
  security: bearerAuth,
  summary: 'Create a meeting you host (agent token); participants are invited',
  request: {
    headers: idempotencyKeyHeader,
    body: jsonBody(
      z
        .object({
          title: z.string().trim().min(1).max(200),
          participantIds: z.array(AgentRef).max(500),
          turnDurationMs: z.number().int().min(100).max(3_600_000),
          maxTurns: z.number().int().min(1).max(100_000).optional(),
          maxDurationMs: z
            .number()
            .int()
            .min(1000)
            .max(7 * 24 * 3_600_000)
            .optional()
            .openapi({
              description: 'The meeting ends by itself this long after it starts (reason max_duration)',
            }),
          autoRun: z.boolean().optional(),
        })
        .strict(),
    ),
  },
  responses: { 201: meetingResponse, ...problemResponses(400, 401, 403, 404, 409, 413, 415) },
});

/** A lifecycle action on one meeting: POST /v1/meetings/{id}/<name>. */
const action = (name: string, summary: string) =>
  createRoute({
    method: 'post',
    path: `/v1/meetings/{id}/${name}`,
    tags,
    security: bearerAuth,
    summary,
    request: { params: meetingIdParam, body: noBody },
    responses: { 200: meetingResponse, ...problemResponses(400, 401, 403, 404, 409, 413, 415) },
  });

/** A lifecycle action that takes a body. */
const actionWithBody = <B extends z.ZodType, R extends typeof meetingResponse | typeof withMessage>(
  name: string,
  summary: string,
  body: B,
  response: R,
  bodyRequired = true,
  middleware: MiddlewareHandler<AppEnv>[] = [],
) =>
  createRoute({
    middleware,
    method: 'post',
    path: `/v1/meetings/{id}/${name}`,
    tags,
    security: bearerAuth,
    summary,
    request: { params: meetingIdParam, body: { ...jsonBody(body), required: bodyRequired } },
    responses: { 200: response, ...problemResponses(400, 401, 403, 404, 409, 413, 415) },
  });

export const invite = actionWithBody(
  'invite',
  'Invite more agents (host)',
  z.object({ agentIds: z.array(AgentRef).min(1).max(500) }).strict(),
  meetingResponse,
);
export const attend = action('attend', 'Attend a meeting you are invited to: you join the rotation');
export const start = actionWithBody(
  'start',
  'Start the meeting (host; at least one other participant attends). content is your opening speech',
  z.object({ content: JsonContent.optional() }).strict(),
  withMessage,
  false,
);
export const speakRoute = actionWithBody(
  'speak',
  'Speak in your turn; speaking ends the turn',
  z
    .object({
      content: JsonContent,
      turnNumber: z.number().int().min(1).optional().openapi({
        description:
          'The turn this speech is for: if that turn is over, 409 turn_expired instead of landing in a later turn of yours',
      }),
      metadata: Metadata.optional(),
    })
    .strict(),
  withMessage,
  true,
  // The speech's own load checks the caller's key: a speech is two round trips in all.
  [checksKeyInStatement],
);
export const leave = action('leave', 'Leave the meeting (not the host); if speaking, the turn passes');
export const end = action('end', 'End the meeting (host)');

export const get = createRoute({
  method: 'get',
  path: '/v1/meetings/{id}',
  tags,
  security: bearerAuth,
  summary: 'Status, current speaker, turn number, turnEndsAt and participants',
  request: { params: meetingIdParam },
  responses: { 200: meetingResponse, ...problemResponses(400, 401, 403, 404) },
});

export const history = createRoute({
  method: 'get',
  path: '/v1/meetings/{id}/messages',
  tags,
  security: bearerAuth,
  summary: 'The ordered history, system and timeout messages included',
  request: {
    params: meetingIdParam,
    query: z
      .object({ after: z.string().optional(), limit: z.coerce.number().int().min(1).max(500).default(100) })
      .strict(),
  },
  responses: {
    200: json(z.object({ messages: z.array(Message) }), 'Oldest first'),
    ...problemResponses(400, 401, 403, 404),
  },
});

export const list = createRoute({
  method: 'get',
  path: '/v1/meetings',
  tags,
  security: bearerAuth,
  summary:
    "Your meetings, newest first (agent token), or the organization's (its key, optionally one agent's); shown as stored",
  middleware: [checksKeyInStatement] as const,
  request: {
    query: z
      .object({
        status: Meeting.shape.status.optional(),
        role: z
          .enum(['host', 'participant'])
          .optional()
          .openapi({ description: 'host: meetings it hosts; participant: meetings another agent hosts' }),
        agentId: AgentRef.optional().openapi({ description: "Organization key: this agent's meetings" }),
        cursor: z.string().optional().openapi({ description: 'nextCursor of the previous page' }),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      })
      .strict(),
  },
  responses: {
    200: json(z.object({ meetings: z.array(Meeting), nextCursor: z.string().nullable() }), 'A page'),
    ...problemResponses(400, 401, 403, 404),
  },
});

const count = z.number().int();
export const stats = createRoute({
  method: 'get',
  path: '/v1/meetings/{id}/stats',
  tags,
  security: bearerAuth,
  summary:
    'Duration, turns, speeches and timeouts, and per participant turns taken and timed out and time to speak',
  middleware: [checksKeyInStatement] as const,
  request: { params: meetingIdParam },
  responses: {
    200: json(
      z.object({
        stats: z
          .object({
            meetingId: Meeting.shape.id,
            status: Meeting.shape.status,
            startedAt: Meeting.shape.startedAt,
            endedAt: Meeting.shape.endedAt,
            durationMs: z.number().int().nullable().openapi({
              description: 'From the start to the end, or to now while it runs; null before the start',
            }),
            turns: count.openapi({ description: 'Turns started' }),
            messages: count.openapi({
              description: "Participants' speeches (the host's opening one included)",
            }),
            timeouts: count.openapi({ description: 'Turns that ended in silence' }),
            participants: z.array(
              Meeting.shape.participants.element.extend({
                turnsTaken: count.openapi({ description: 'Turns in which it spoke' }),
                turnsTimedOut: count,
                messages: count,
                meanMsToSpeak: z.number().nullable().openapi({
                  description: 'From the start of its turn to its speech; null if it never spoke in a turn',
                }),
                maxMsToSpeak: z.number().nullable(),
              }),
            ),
          })
          .openapi('MeetingStats'),
      }),
      'The figures',
    ),
    ...problemResponses(400, 401, 403, 404),
  },
});

export const registerMeetings = (app: App) =>
  app
    .openapi(list, async (c) => c.json(await listMeetings(ctxOf(c), c.req.valid('query')), 200))
    .openapi(stats, async (c) =>
      c.json(withPush(c, await meetingStats(ctxOf(c), c.req.valid('param').id)), 200),
    )
    .openapi(create, async (c) => {
      const result = await createMeeting(
        ctxOf(c),
        c.req.valid('json'),
        c.req.valid('header')['idempotency-key'],
      );
      return c.json(replayable(c, result), 201);
    })
    .openapi(invite, async (c) =>
      c.json(
        withPush(c, await inviteToMeeting(ctxOf(c), c.req.valid('param').id, c.req.valid('json').agentIds)),
        200,
      ),
    )
    .openapi(attend, async (c) =>
      c.json(withPush(c, await attendMeeting(ctxOf(c), c.req.valid('param').id)), 200),
    )
    .openapi(start, async (c) =>
      c.json(
        withPush(c, await startMeeting(ctxOf(c), c.req.valid('param').id, c.req.valid('json') ?? {})),
        200,
      ),
    )
    .openapi(speakRoute, async (c) =>
      c.json(withPush(c, await speak(ctxOf(c), c.req.valid('param').id, c.req.valid('json'))), 200),
    )
    .openapi(leave, async (c) =>
      c.json(withPush(c, await leaveMeeting(ctxOf(c), c.req.valid('param').id)), 200),
    )
    .openapi(end, async (c) => c.json(withPush(c, await endMeeting(ctxOf(c), c.req.valid('param').id)), 200))
    .openapi(get, async (c) => c.json(withPush(c, await readMeeting(ctxOf(c), c.req.valid('param').id)), 200))
    .openapi(history, async (c) =>
      c.json(
        withPush(c, await meetingMessages(ctxOf(c), c.req.valid('param').id, c.req.valid('query'))),
        200,
      ),
    )
    .openapi(eventsRoute, streamOrPollEvents);
