import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  bundleWorkers,
  type DatabaseServer,
  ensureDatabase,
  migrate,
  startWorkers,
} from '@agent-messaging/local';
import pg from 'pg';
import { startEndpoint } from './endpoint';
import { type Latency, latency, sleep } from './measure';
import type { Pipeline } from './pipeline';

export const ADMIN = 'bench-admin-token-0123456789abcdef';

/** Cumulative counts of what passed between the workers and PostgreSQL. */
export interface Counters {
  /** Times a worker waited on the database: WebSocket Syncs, Queries and auth exchanges, HTTP requests. */
  roundTrips: number;
  /** PostgreSQL backends opened for the workers. */
  newBackends: number;
  /** WebSocket connections the workers opened to the proxy. */
  clientConnections: number;
}

/** The one place that knows the shape of the database server's counters. */
export function readCounters(server: DatabaseServer): Counters {
  const stats = server.stats();
  return {
    roundTrips: stats.allRoundTrips,
    newBackends: stats.newBackends,
    clientConnections: stats.clientConnections,
  };
}

/** One API operation as an agent calls it; `run` returns once its effect is visible to the agent. */
export interface Operation {
  name: string;
  run: (i: number) => Promise<unknown>;
}

export interface Service extends Pipeline {
  /** Sends message `content: {seq}` to an agent without an endpoint (kept in its inbox, never pushed). */
  sendToInbox: (seq: number) => Promise<void>;
  operations: Operation[];
  countPerOperation: (rounds: number) => Promise<Record<string, Counters>>;
  timeoutLag: (meetings: number, timeoutsEach: number) => Promise<Latency & { max: number }>;
  stop: () => Promise<void>;
}

/**
 * The three workers in miniflare on a database of their own (`name`) on the bench's PostgreSQL,
 * through its stand-ins for Neon's edge, with the sweeper's ticker bound, as deployed.
 */
export async function startBenchWorkers(
  server: DatabaseServer,
  workDir: string,
  name: string,
  vars: Record<string, string> = {},
) {
  const databaseUrl = await ensureDatabase(server.postgres, name);
  await migrate(databaseUrl);
  const workers = await startWorkers({
    scripts: await bundleWorkers(join(workDir, 'build')),
    vars: {
      DATABASE_URL: databaseUrl,
      NEON_WS_PROXY: server.wsProxy,
      NEON_HTTP_ENDPOINT: server.sqlEndpoint,
      ADMIN_TOKEN: ADMIN,
      // What ENCRYPTION_KEY must be: 32 random bytes in base64 (not imported from core, so a core that
      // does not load fails this phase, in its bundle, rather than the whole bench).
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ALLOW_PRIVATE_ENDPOINTS: 'true',
      ...vars,
    },
    ticker: true,
    // The bench measures the data path; a few agents send thousands of messages a minute, which
    // production's per-credential rate limits would refuse (tests/security covers the limits).
    rateLimits: { agent: 1_000_000, organization: 1_000_000 },
  });
  return { workers, databaseUrl };
}

/**
 * This service on the shared PostgreSQL (its own database): the three workers in miniflare with
 * the sweeper's ticker bound, as deployed (the cron, every 10 minutes, never fires in a run). An
 * organization with alice and bob (no endpoint: inbox only) and echo, whose endpoint verifies
 * every signature with echo's signing secret and answers sync requests inline.
 */
export async function startService(server: DatabaseServer, workDir: string): Promise<Service> {
  const { workers, databaseUrl } = await startBenchWorkers(server, workDir, 'service');
  const endpoint = await startEndpoint();
  // The bench's own look at the outbox: straight to PostgreSQL, so it never shows in the counters.
  const db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const stop = async () => {
    await workers.stop();
    await Promise.all([endpoint.close(), db.end()]);
  };

  const call = async (method: string, path: string, token?: string, body?: unknown): Promise<any> => {
    const response = await fetch(`${workers.apiUrl}${path}`, {
      method,
      headers: {
        // As the peer is called: miniflare, like Cloudflare's edge, gzips JSON for a client that
        // accepts it, and inflating every answer would be the load generator's cost, not ours.
        'accept-encoding': 'identity',
        ...(token && { authorization: `Bearer ${token}` }),
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };

  try {
    const { apiKey } = await call('POST', '/v1/organizations', ADMIN, { name: 'bench' });
    const agent = async (name: string, endpointUrl?: string) => {
      const created = await call('POST', '/v1/agents', apiKey, { name, ...(endpointUrl && { endpointUrl }) });
      return {
        id: created.agent.id as string,
        token: created.token as string,
        secret: created.signingSecret,
      };
    };
    const alice = await agent('alice');
    const bob = await agent('bob');
    const echo = await agent('echo', endpoint.url);
    endpoint.secret = echo.secret;

    const { meeting } = await call('POST', '/v1/meetings', alice.token, {
      title: 'bench',
      participantIds: [bob.id],
      turnDurationMs: 3_600_000,
    });
    await call('POST', `/v1/meetings/${meeting.id}/attend`, bob.token);
    let speaker: string = (await call('POST', `/v1/meetings/${meeting.id}/start`, alice.token)).meeting
      .currentSpeakerId;

    const send = async (to: string, content: unknown) =>
      call('POST', '/v1/messages', alice.token, { to, content });
    // Inbox reads come after the sends, so bob's inbox holds at least 50 unread messages.
    const operations: Operation[] = [
      { name: 'GET /healthz', run: () => call('GET', '/healthz') },
      {
        name: 'one-way send, pushed agent (until its webhook)',
        run: async (i) => {
          const expected = endpoint.delivered() + 1;
          await send(echo.id, { op: i });
          if (!(await endpoint.waitFor(expected, 30_000))) throw new Error('webhook never arrived');
        },
      },
      { name: 'one-way send, inbox-only agent', run: (i) => send(bob.id, { op: i }) },
      {
        name: 'async send',
        run: (i) => call('POST', '/v1/conversations/async', alice.token, { to: bob.id, content: { op: i } }),
      },
      {
        name: 'sync request/reply (inline)',
        run: (i) =>
          call('POST', '/v1/conversations/sync', alice.token, {
            to: echo.id,
            content: { op: i },
            timeoutMs: 10_000,
          }),
      },
      {
        name: 'meeting speak',
        run: async (i) => {
          const token = speaker === alice.id ? alice.token : bob.token;
          const spoken = await call('POST', `/v1/meetings/${meeting.id}/speak`, token, {
            content: { op: i },
          });
          speaker = spoken.meeting.currentSpeakerId;
        },
      },
      { name: 'inbox read (50 messages)', run: () => call('GET', '/v1/inbox?limit=50', bob.token) },
    ];

    /** Until no delivery is waiting to be pushed: an operation's deliveries count as its own. */
    const settle = async () => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const { rows } = await db.query(
          "SELECT count(*)::int AS pending FROM deliveries WHERE status IN ('queued', 'failed')",
        );
        if (rows[0].pending === 0) return;
        if (Date.now() > deadline) throw new Error(`${rows[0].pending} deliveries never settled`);
        await sleep(2);
      }
    };

    return {
      endpoint,
      roundTrips: () => readCounters(server).roundTrips,
      send: async (seq) => {
        await send(echo.id, { seq });
      },
      sendToInbox: async (seq) => {
        await send(bob.id, { seq });
      },
      operations,
      countPerOperation: async (rounds) => {
        const counts: Record<string, Counters> = {};
        for (const op of operations) {
          // Warm first: the figure is the steady state, not a cold isolate's first connections.
          for (let i = 0; i < 2; i++) await op.run(i).then(settle);
          const before = readCounters(server);
          for (let i = 0; i < rounds; i++) await op.run(i).then(settle);
          const after = readCounters(server);
          counts[op.name] = {
            roundTrips: (after.roundTrips - before.roundTrips) / rounds,
            newBackends: (after.newBackends - before.newBackends) / rounds,
            clientConnections: (after.clientConnections - before.clientConnections) / rounds,
          };
        }
        return counts;
      },
      timeoutLag: async (count, timeoutsEach) => {
        // Staggered deadlines: turns of 1.5 s to about 3.3 s, so the ticker's alarm moves all the time.
        const ids: string[] = [];
        for (let i = 0; i < count; i++) {
          const { meeting: created } = await call('POST', '/v1/meetings', alice.token, {
            title: `timeouts ${i}`,
            participantIds: [bob.id],
            turnDurationMs: 1_500 + i * 37,
          });
          await call('POST', `/v1/meetings/${created.id}/attend`, bob.token);
          ids.push(created.id);
        }
        for (const id of ids) await call('POST', `/v1/meetings/${id}/start`, alice.token);
        // Nobody touches the meetings now: only the ticker applies their timeouts. Watched from
        // the database directly, since an API read would apply an overdue turn itself.
        const fewestTimeouts = async () =>
          (
            await db.query(
              `SELECT coalesce(min(n), 0)::int AS n FROM (
                 SELECT count(e.seq) AS n FROM unnest($1::text[]) AS m(id)
                 LEFT JOIN meeting_events e ON e.meeting_id = m.id AND e.type = 'turn_timed_out'
                 GROUP BY m.id) AS per_meeting`,
              [ids],
            )
          ).rows[0].n as number;
        const deadline = Date.now() + 60_000;
        while ((await fewestTimeouts()) < timeoutsEach) {
          if (Date.now() > deadline) throw new Error('timeouts were not applied within a minute');
          await sleep(200);
        }
        for (const id of ids) await call('POST', `/v1/meetings/${id}/end`, alice.token);
        // Each of the first timeouts of each meeting (ending one may apply another) against its
        // turn's deadline, as the turn_started event announced it.
        const { rows } = await db.query(
          `SELECT extract(epoch FROM t.created_at - (s.data->>'turnEndsAt')::timestamptz) * 1000 AS lag_ms
           FROM meeting_events t
           JOIN meeting_events s ON s.meeting_id = t.meeting_id AND s.type = 'turn_started'
             AND s.data->'turnNumber' = t.data->'turnNumber'
           WHERE t.meeting_id = ANY($1) AND t.type = 'turn_timed_out'
             AND (t.data->>'turnNumber')::int <= $2`,
          [ids, timeoutsEach],
        );
        const lags = rows.map((row) => Number(row.lag_ms));
        return { ...latency(lags), max: Math.max(...lags) };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
