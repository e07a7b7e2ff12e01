import { randomUUID } from 'node:crypto';
import { type NeonEdge, startNeonEdge, startWorkers } from '@agent-messaging/local';
import pg from 'pg';
import { inject } from 'vitest';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export interface CallOptions {
  token?: string | undefined;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface CallResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * The real stack for one test file: a fresh database copied from the migrated template and the
 * three workers in miniflare. Fast delivery settings; the sweeper only runs when a test fires it
 * (unless `ticker` binds its Durable Object clock, which sweeps on its own at each deadline).
 * `ownEdge` gives the stack stand-ins for Neon's edge of its own, whose counters (`edgeStats`) see
 * this stack's database traffic only.
 */
export async function startTestStack(
  vars: Record<string, string> = {},
  options: {
    ticker?: boolean | 'sweeper-only';
    ownEdge?: boolean;
    /** Requests per credential per minute; by default far above what any test makes. */
    rateLimits?: { agent?: number; organization?: number };
  } = {},
) {
  const shared = inject('stack');
  const { postgresUrl, scripts, encryptionKey } = shared;
  const edge: NeonEdge | undefined = options.ownEdge ? await startNeonEdge() : undefined;
  const { wsProxy, sqlEndpoint } = edge ?? shared;
  const name = `t_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE am_template`);
  await admin.end();
  const databaseUrl = postgresUrl.replace(/\/postgres$/, `/${name}`);

  const output: string[] = [];
  const workerOptions = {
    scripts,
    vars: {
      DATABASE_URL: databaseUrl,
      NEON_WS_PROXY: wsProxy,
      NEON_HTTP_ENDPOINT: sqlEndpoint,
      ADMIN_TOKEN,
      ENCRYPTION_KEY: encryptionKey,
      ALLOW_PRIVATE_ENDPOINTS: 'true',
      DELIVERY_TIMEOUT_MS: '2000',
      RETRY_BASE_MS: '50',
      RETRY_MAX_MS: '200',
      MAX_DELIVERY_ATTEMPTS: '4',
      SWEEP_BUDGET_MS: '0',
      ...vars,
    },
    ...(options.ticker && { ticker: options.ticker }),
    rateLimits: { agent: 1_000_000, organization: 1_000_000, ...options.rateLimits },
    onOutput: (text: string) => output.push(text),
  };
  let workers = await startWorkers(workerOptions);
  const sql = new pg.Pool({ connectionString: databaseUrl, max: 2 });

  async function call<T = any>(
    method: string,
    path: string,
    options: CallOptions = {},
  ): Promise<CallResult<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${workers.apiUrl}${path}`, { method, headers, body });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
  }

  return {
    get apiUrl() {
      return workers.apiUrl;
    },
    databaseUrl,
    call,
    sweep: () => workers.sweep(),
    /** Round trips and backends of this stack's workers, counted at its own edge (`ownEdge`). */
    edgeStats: () => {
      if (!edge) throw new Error('edgeStats needs startTestStack(..., { ownEdge: true })');
      return edge.stats();
    },
    tickerAlarm: () => workers.tickerAlarm(),
    /** Everything the workers printed so far (their console.log and console.error). */
    output: () => output.join(''),
    /** Kills the workers (what they were doing dies with them) and starts them again on the same database. */
    restart: async () => {
      await workers.stop();
      workers = await startWorkers(workerOptions);
    },
    sql,
    stop: async () => {
      await sql.end();
      await workers.stop();
      await edge?.close();
    },
  };
}

export type TestStack = Awaited<ReturnType<typeof startTestStack>>;

/** An organization with its key, made through the API. */
export async function createOrganization(stack: TestStack, name = 'Acme') {
  const { status, body } = await stack.call('POST', '/v1/organizations', {
    token: ADMIN_TOKEN,
    body: { name },
  });
  if (status !== 201) throw new Error(`create organization: ${status} ${JSON.stringify(body)}`);
  return body as { organization: { id: string }; apiKey: string };
}

export interface TestAgent {
  id: string;
  token: string;
  signingSecret: string;
}

export async function createAgent(
  stack: TestStack,
  orgKey: string,
  input: { name?: string; endpointUrl?: string; externalId?: string } = {},
): Promise<TestAgent> {
  const { status, body } = await stack.call('POST', '/v1/agents', {
    token: orgKey,
    body: { name: input.name ?? 'agent', ...input },
  });
  if (status !== 201) throw new Error(`create agent: ${status} ${JSON.stringify(body)}`);
  return { id: body.agent.id, token: body.token, signingSecret: body.signingSecret };
}

/** Polls `check` until it returns a truthy value (for effects that happen after a response). */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * What an api instance leaves when it dies right after commit: messages with due outbox rows
 * that nobody handed to the dispatcher; only the sweeper will deliver them.
 */
export async function insertUndispatched(
  stack: TestStack,
  senderId: string,
  recipientId: string,
  content: unknown,
  count = 1,
) {
  const { rows } = await stack.sql.query(
    `WITH m AS (
       INSERT INTO messages (id, organization_id, kind, sender_id, recipient_id, content)
       SELECT 'msg_' || substr(md5(random()::text || g), 1, 26), a.organization_id, 'user', $1, a.id, $3::jsonb
       FROM agents a, generate_series(1, $4::int) g WHERE a.id = $2
       RETURNING id, organization_id, recipient_id)
     INSERT INTO deliveries (id, organization_id, agent_id, type, message_id, attempt_limit)
     SELECT 'dlv_' || substr(m.id, 5), m.organization_id, m.recipient_id, 'message', m.id, 4 FROM m
     RETURNING id, message_id`,
    [senderId, recipientId, JSON.stringify(content), count],
  );
  return rows as { id: string; message_id: string }[];
}
