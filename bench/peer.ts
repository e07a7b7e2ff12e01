import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ensureDatabase, type LocalPostgres } from '@agent-messaging/local';
import { Logger, run, runMigrations, type Task } from 'graphile-worker';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { startEndpoint } from './endpoint';
import type { Pipeline } from './pipeline';

/** What graphile-worker and the HTTP pool are given: pg's default pool size, a worker per connection. */
const POOL_SIZE = 10;
const WORKER_CONCURRENCY = 10;

const quiet = new Logger(() => () => {});

async function readJson(request: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/**
 * The pipeline a user would build by hand: a Node HTTP server whose `POST /messages` stores the
 * message and enqueues a graphile-worker job in one transaction, and a graphile-worker runner (in
 * this process) whose task loads the message and POSTs it, signed, to the agent's endpoint,
 * retried by graphile-worker on failure. Its own database on the shared PostgreSQL.
 */
export async function startPeer(postgres: LocalPostgres): Promise<Pipeline & { stop: () => Promise<void> }> {
  const databaseUrl = await ensureDatabase(postgres, 'peer');
  const pool = new pg.Pool({ connectionString: databaseUrl, max: POOL_SIZE });
  const workerPool = new pg.Pool({ connectionString: databaseUrl, max: WORKER_CONCURRENCY + 1 });
  await pool.query(
    `CREATE TABLE messages (id bigserial PRIMARY KEY, recipient text NOT NULL, content jsonb NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now())`,
  );
  await runMigrations({ pgPool: workerPool, logger: quiet });

  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const endpoint = await startEndpoint(secret);
  const signer = new Webhook(secret);

  const deliver: Task = async (payload, helpers) => {
    const { id } = payload as { id: string };
    const { rows } = await helpers.query('SELECT id, content, created_at FROM messages WHERE id = $1', [id]);
    const message = rows[0];
    if (!message) throw new Error(`message ${id} vanished`);
    const body = JSON.stringify({
      type: 'message',
      message: { id: message.id, content: message.content, createdAt: message.created_at },
    });
    const webhookId = `msg_${message.id}`;
    const sentAt = new Date();
    const response = await fetch(endpoint.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': webhookId,
        'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
        'webhook-signature': signer.sign(webhookId, sentAt, body),
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`endpoint answered ${response.status}`);
  };
  const runner = await run({
    pgPool: workerPool,
    concurrency: WORKER_CONCURRENCY,
    noHandleSignals: true,
    logger: quiet,
    taskList: { deliver },
    parsedCronItems: [],
  });

  const server = createServer(async (request, response) => {
    if (request.method !== 'POST' || request.url !== '/messages') return response.writeHead(404).end();
    const { to, content } = await readJson(request);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query(
        'INSERT INTO messages (recipient, content) VALUES ($1, $2) RETURNING id',
        [to, content],
      );
      await client.query(`SELECT graphile_worker.add_job('deliver', json_build_object('id', $1::bigint))`, [
        rows[0].id,
      ]);
      await client.query('COMMIT');
      response.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id: rows[0].id }));
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      response.writeHead(500).end(String(error));
    } finally {
      client.release();
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/messages`;

  return {
    endpoint,
    send: async (seq) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'accept-encoding': 'identity' },
        body: JSON.stringify({ to: 'endpoint-agent', content: { seq } }),
      });
      await response.body?.cancel();
      if (response.status !== 202) throw new Error(`peer send: ${response.status}`);
    },
    stop: async () => {
      await runner.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await endpoint.close();
      await Promise.all([pool.end(), workerPool.end()]);
    },
  };
}
