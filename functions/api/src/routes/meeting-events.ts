import { meetingEventsAfter, openDb, releaseStreamLease, takeStreamLease } from '@agent-messaging/core';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { ctxOf, pushSoon, withPush } from '../context';
import { MeetingEvent, meetingIdParam, problemResponses } from '../schemas';
import type { AppEnv } from '../types';

/** Each poll inside the stream waits this long for new events (and keeps the connection alive). */
const STREAM_POLL_MS = 15_000;

export const eventsRoute = createRoute({
  method: 'get',
  path: '/v1/meetings/{id}/events',
  tags: ['Meetings'],
  security: [{ bearer: [] }],
  summary: 'Events after a seq; long-polls with waitMs; Accept: text/event-stream streams them (SSE)',
  description:
    'Every change of the meeting is an event with a gap-free per-meeting seq. As SSE, each event is sent with `id: <seq>` and `event: <type>`; reconnect with `Last-Event-ID` to resume with nothing missed or repeated. The stream closes after meeting_ended (at once if the meeting had already ended); an ended meeting is never waited on.',
  request: {
    params: meetingIdParam,
    query: z
      .object({
        after: z.coerce.number().int().min(0).default(0),
        limit: z.coerce.number().int().min(1).max(500).default(100),
        waitMs: z.coerce.number().int().min(0).max(30_000).default(0),
      })
      .strict(),
  },
  responses: {
    200: {
      content: {
        'application/json': {
          schema: z.object({
            events: z.array(MeetingEvent),
            ended: z.boolean().openapi({
              description: 'The meeting has ended and these are its last events: nothing more will come',
            }),
          }),
        },
        'text/event-stream': { schema: z.string() },
      },
      description: 'Events, oldest first',
    },
    ...problemResponses(400, 401, 403, 404),
  },
});

type EventsContext = Context<
  AppEnv,
  '/v1/meetings/:id/events',
  { out: { param: { id: string }; query: { after: number; limit: number; waitMs: number } } }
>;

export async function streamOrPollEvents(c: EventsContext) {
  const { id } = c.req.valid('param');
  const query = c.req.valid('query');
  if (!(c.req.header('accept') ?? '').includes('text/event-stream')) {
    return c.json(withPush(c, await meetingEventsAfter(ctxOf(c), id, query)), 200);
  }
  const lastEventId = Number(c.req.header('last-event-id'));
  let after = Number.isInteger(lastEventId) && lastEventId > 0 ? lastEventId : query.after;
  // Check access before the stream opens, so a refusal is a plain problem response.
  pushSoon(c, await meetingEventsAfter(ctxOf(c), id, { after, limit: 1, waitMs: 0 }));
  const config = c.get('config');
  // A bounded number of streams per credential, each bounded in time (its lease outlives it a little).
  const lease = await takeStreamLease(
    c.get('db'),
    c.get('principal'),
    config.MAX_STREAMS,
    config.STREAM_LIFETIME_MS + 60_000,
  );
  return streamSSE(c, async (stream) => {
    // The request's pool closes when the handler returns; the stream needs its own.
    const { db, close } = openDb(config);
    const ctx = { ...ctxOf(c), db };
    // A client that goes away frees its place at once, not when the current poll ends.
    stream.onAbort(() => c.executionCtx.waitUntil(releaseStreamLease(db, lease).catch(() => {})));
    const closesAt = Date.now() + config.STREAM_LIFETIME_MS;
    const pushes: Promise<void>[] = [];
    try {
      while (!stream.aborted && Date.now() < closesAt) {
        const { events, ended, ...outbox } = await meetingEventsAfter(ctx, id, {
          after,
          limit: query.limit,
          waitMs: Math.min(STREAM_POLL_MS, Math.max(0, closesAt - Date.now())),
        });
        pushes.push(pushSoon(c, outbox, db));
        if (events.length === 0 && !ended) await stream.write(': keep-alive\n\n');
        for (const event of events) {
          await stream.writeSSE({ id: String(event.seq), event: event.type, data: JSON.stringify(event) });
          after = event.seq;
        }
        if (ended) break;
      }
    } finally {
      await Promise.allSettled(pushes);
      await releaseStreamLease(db, lease).catch(() => {}); // else it runs out by itself
      await close();
    }
  });
}
