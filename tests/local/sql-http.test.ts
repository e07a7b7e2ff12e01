import { NeonDbError, type NeonQueryFunction, neon, neonConfig } from '@neondatabase/serverless';
import { sql as dsql, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/neon-http';
import { integer, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SqlHttpServer, startSqlHttp } from '../../packages/local/src/sql-http';
import { rejection, scratchDatabase } from '../helpers/database';

// The local stand-in for Neon's HTTP endpoint, checked through the real driver (`neon()`) and
// drizzle's neon-http on top of it: what they send and how they read the answers.

let server: SqlHttpServer;
let databaseUrl: string;
let drop: () => Promise<void>;
/** A plain session on the test database, beside the server's pools. */
let direct: pg.Client;
let sql: NeonQueryFunction<false, false>;

beforeAll(async () => {
  ({ databaseUrl, direct, drop } = await scratchDatabase('t_sqlhttp'));
  await direct.query(`CREATE TABLE notes (
    id serial PRIMARY KEY,
    slug text NOT NULL,
    votes integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now())`);
  await direct.query('CREATE UNIQUE INDEX notes_slug_idx ON notes (slug)');

  server = await startSqlHttp();
  // Plain http is accepted: the driver uses the endpoint as given.
  neonConfig.fetchEndpoint = () => server.url;
  sql = neon(databaseUrl);
});

afterAll(async () => {
  await server?.close();
  // The server's pools are gone, so the database can be dropped without force.
  await drop();
});

/** Rows with these slugs, as another session sees them (only committed work). */
async function countSlugs(...slugs: string[]): Promise<number> {
  const { rows } = await direct.query('SELECT count(*)::int AS n FROM notes WHERE slug = ANY($1)', [slugs]);
  return rows[0].n;
}

describe('single queries', () => {
  // Runs before drizzle is constructed: drizzle's neon-http driver switches the driver's global
  // parsers for timestamps, dates and intervals to plain strings for the rest of the process.
  it('answers raw text that the driver types as it would from Neon', async () => {
    const [row] = await sql`SELECT
      42::int4 AS i4, 9007199254740993::int8 AS i8, 12345.678901234567890::numeric AS num,
      true AS yes, false AS no, 'héllo "q" \\ ''x'''::text AS t,
      '2024-02-03T04:05:06.789Z'::timestamptz AS ts,
      '{"a": 1, "b": [true, null]}'::jsonb AS obj, '[1, "two"]'::jsonb AS arr, '"str"'::jsonb AS jstr,
      ARRAY['a', 'b c', NULL, 'd"e']::text[] AS texts, ARRAY[1, 2, 3]::int4[] AS ints,
      '\\x00ff10'::bytea AS bytes, NULL::text AS nothing, NULL::int4 AS no_int`;
    expect(row).toMatchObject({
      i4: 42,
      i8: '9007199254740993',
      num: '12345.678901234567890',
      yes: true,
      no: false,
      t: 'héllo "q" \\ \'x\'',
      obj: { a: 1, b: [true, null] },
      arr: [1, 'two'],
      jstr: 'str',
      texts: ['a', 'b c', null, 'd"e'],
      ints: [1, 2, 3],
      nothing: null,
      no_int: null,
    });
    expect(row?.ts).toBeInstanceOf(Date);
    expect(row?.ts.toISOString()).toBe('2024-02-03T04:05:06.789Z');
    expect(row?.bytes.toString('hex')).toBe('00ff10');
  });

  it('passes parameters as the driver serialises them', async () => {
    const when = new Date('2023-07-08T09:10:11.123Z');
    const tricky = 'a\\b\n"c\' {d,e}';
    const [row] = await sql`SELECT
      ${42}::int4 AS i4, ${9007199254740993n}::int8 AS i8, ${'0.1'}::numeric + 0.2 AS num, ${true}::bool AS yes,
      ${tricky}::text AS t, ${when}::timestamptz AS ts, ${{ a: [1, 'x'] }}::jsonb AS obj,
      ${JSON.stringify([1, 'two'])}::jsonb AS arr, ${['x', 'y z', null, 'q"{']}::text[] AS texts,
      ${[1, 2, 3]}::int4[] AS ints, ${Buffer.from([1, 2, 254])}::bytea AS bytes, ${null}::text AS nothing`;
    expect(row).toMatchObject({
      i4: 42,
      i8: '9007199254740993',
      num: '0.3',
      yes: true,
      t: tricky,
      obj: { a: [1, 'x'] },
      arr: [1, 'two'],
      texts: ['x', 'y z', null, 'q"{'],
      ints: [1, 2, 3],
      nothing: null,
    });
    expect(row?.ts.getTime()).toBe(when.getTime());
    expect(row?.bytes.toString('hex')).toBe('0102fe');
  });

  it('gives full results: fields, command and rowCount, in array mode too', async () => {
    const selected = await sql.query('SELECT 1 AS one, $1::text AS two', ['x'], {
      fullResults: true,
      arrayMode: true,
    });
    expect(selected.rows).toEqual([[1, 'x']]);
    expect(selected).toMatchObject({ command: 'SELECT', rowCount: 1, rowAsArray: true });
    expect(selected.fields.map((field) => [field.name, field.dataTypeID, field.format])).toEqual([
      ['one', 23, 'text'],
      ['two', 25, 'text'],
    ]);

    const inserted = await sql.query("INSERT INTO notes (slug) VALUES ('full-1'), ('full-2')", [], {
      fullResults: true,
    });
    expect(inserted).toMatchObject({ command: 'INSERT', rowCount: 2, rows: [], fields: [] });

    const updated = await sql.query(
      "UPDATE notes SET votes = votes + 1 WHERE slug LIKE 'full-%' RETURNING slug, votes",
      [],
      { fullResults: true },
    );
    expect(updated).toMatchObject({ command: 'UPDATE', rowCount: 2 });
    expect(updated.rows).toEqual(
      expect.arrayContaining([
        { slug: 'full-1', votes: 1 },
        { slug: 'full-2', votes: 1 },
      ]),
    );
    // A column of a table says which one, as PostgreSQL describes it.
    expect(updated.fields[0]).toMatchObject({ name: 'slug', dataTypeID: 25, columnID: 2 });
    expect(updated.fields[0]?.tableID).toBeGreaterThan(0);
  });
});

describe('errors', () => {
  it('carries the SQLSTATE, constraint, detail and table of a unique violation', async () => {
    await sql`INSERT INTO notes (slug) VALUES ('dup')`;
    const error = await rejection(sql`INSERT INTO notes (slug) VALUES ('dup')`);
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error).toMatchObject({
      message: 'duplicate key value violates unique constraint "notes_slug_idx"',
      code: '23505',
      constraint: 'notes_slug_idx',
      detail: 'Key (slug)=(dup) already exists.',
      table: 'notes',
      schema: 'public',
      severity: 'ERROR',
    });
  });

  it('reports a syntax error with its position', async () => {
    const error = await rejection(sql.query('SELECT 1 FORM notes'));
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error).toMatchObject({ code: '42601', position: '15' });
    expect(error.message).toMatch(/syntax error at or near "notes"/);
  });

  it('refuses several statements in one query, as Neon does', async () => {
    const error = await rejection(sql.query('SELECT 1; SELECT 2'));
    expect(error).toMatchObject({ code: '42601' });
    expect(error.message).toMatch(/multiple commands/);
  });

  it('refuses a database that is not on this machine', async () => {
    const error = await rejection(neon('postgres://user:secret@db.example.com/app')`SELECT 1`);
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error.message).toMatch(/only a local PostgreSQL/);
  });

  it('serves POST /sql only', async () => {
    expect((await fetch(server.url)).status).toBe(405);
    expect((await fetch(server.url.replace('/sql', '/other'), { method: 'POST' })).status).toBe(404);
  });
});

describe('batches', () => {
  it('returns each statement result, typed per statement', async () => {
    const [inserted, counted, big] = await sql.transaction([
      sql`INSERT INTO notes (slug) VALUES ('batch-1'), ('batch-2') RETURNING slug`,
      sql`SELECT count(*)::int AS n FROM notes WHERE slug LIKE 'batch-%'`,
      sql`SELECT ${7}::int8 AS big, NULL::jsonb AS none`,
    ]);
    expect(inserted).toEqual([{ slug: 'batch-1' }, { slug: 'batch-2' }]);
    expect(counted).toEqual([{ n: 2 }]);
    expect(big).toEqual([{ big: '7', none: null }]);
  });

  it('runs with the requested isolation level, read only and deferrable', async () => {
    const [settings] = await sql.transaction(
      [
        sql`SELECT current_setting('transaction_isolation') AS isolation,
          current_setting('transaction_read_only') AS read_only,
          current_setting('transaction_deferrable') AS deferrable`,
      ],
      { isolationLevel: 'Serializable', readOnly: true, deferrable: true },
    );
    expect(settings).toEqual([{ isolation: 'serializable', read_only: 'on', deferrable: 'on' }]);
  });

  it('refuses a write in a read-only batch', async () => {
    const error = await rejection(
      sql.transaction([sql`SELECT 1`, sql`INSERT INTO notes (slug) VALUES ('read-only')`], {
        isolationLevel: 'Serializable',
        readOnly: true,
      }),
    );
    expect(error).toBeInstanceOf(NeonDbError);
    expect(error.code).toBe('25006');
    expect(await countSlugs('read-only')).toBe(0);
  });

  it('rolls back the earlier statements of a failing batch, and the connection is clean after', async () => {
    await sql`SELECT 1`;
    const before = server.stats();
    const error = await rejection(
      sql.transaction([
        sql`INSERT INTO notes (slug) VALUES ('rollback-a')`,
        sql`INSERT INTO notes (slug) VALUES ('rollback-b')`,
        sql`INSERT INTO notes (slug) VALUES ('rollback-a')`,
      ]),
    );
    expect(error).toMatchObject({ code: '23505', constraint: 'notes_slug_idx' });
    expect(await countSlugs('rollback-a', 'rollback-b')).toBe(0);
    // Same backend, back outside any transaction: the next request commits on its own.
    const [after] = await sql`SELECT current_setting('transaction_isolation') AS isolation`;
    expect(after).toEqual({ isolation: 'read committed' });
    expect(server.stats().backendsOpened).toBe(before.backendsOpened);
  });

  it('never hands a connection left inside a transaction to the next request', async () => {
    await sql`SELECT 1`;
    const before = server.stats();
    await sql.query('BEGIN');
    await sql`INSERT INTO notes (slug) VALUES ('after-begin')`;
    // Had the open transaction been reused, this insert would be invisible to others.
    expect(await countSlugs('after-begin')).toBe(1);
    expect(server.stats().backendsOpened).toBe(before.backendsOpened + 1);
  });
});

describe('counters and pools', () => {
  it('counts one request per query or batch, and every statement', async () => {
    const before = server.stats();
    await sql`SELECT 1`;
    await sql.transaction([sql`SELECT 1`, sql`SELECT 2`, sql`SELECT 3`]);
    await rejection(sql`SELECT nope`);
    const after = server.stats();
    expect(after.requests - before.requests).toBe(3);
    expect(after.queries - before.queries).toBe(5);
  });

  it('keeps backends warm: repeated queries open none', async () => {
    await sql`SELECT 1`;
    const before = server.stats();
    for (let i = 0; i < 20; i++) await sql`SELECT ${i}::int AS i`;
    expect(server.stats().backendsOpened).toBe(before.backendsOpened);
  });

  it('bounds the backends per database', async () => {
    const small = await startSqlHttp({ maxPerDatabase: 2 });
    neonConfig.fetchEndpoint = () => small.url;
    try {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => sql`SELECT ${i}::int AS i, pg_sleep(0.02)`),
      );
      expect(results.map((rows) => rows[0]?.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(small.stats()).toMatchObject({ requests: 8, backendsOpened: 2 });
    } finally {
      neonConfig.fetchEndpoint = () => server.url;
      await small.close();
    }
  });
});

describe('drizzle-orm/neon-http', () => {
  const notes = pgTable('notes', {
    id: serial('id').primaryKey(),
    slug: text('slug').notNull(),
    votes: integer('votes').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  });
  let db: ReturnType<typeof drizzle>;
  beforeAll(() => {
    db = drizzle({ client: neon(databaseUrl) });
  });

  it('inserts, selects and updates', async () => {
    const [created] = await db.insert(notes).values({ slug: 'drizzle-1' }).returning();
    expect(created).toMatchObject({ slug: 'drizzle-1', votes: 0 });
    expect(created?.createdAt).toBeInstanceOf(Date);
    const updated = await db
      .update(notes)
      .set({ votes: dsql`${notes.votes} + 5` })
      .where(eq(notes.slug, 'drizzle-1'));
    expect(updated.rowCount).toBe(1);
    const [read] = await db.select().from(notes).where(eq(notes.slug, 'drizzle-1'));
    expect(read).toMatchObject({ id: created?.id, votes: 5 });
    expect(read?.createdAt.getTime()).toBe(created?.createdAt.getTime());
  });

  it('runs db.batch as one transaction and returns each result', async () => {
    const [inserted, selected] = await db.batch([
      db.insert(notes).values({ slug: 'drizzle-batch' }).returning({ slug: notes.slug }),
      db.select({ slug: notes.slug }).from(notes).where(eq(notes.slug, 'drizzle-batch')),
    ]);
    expect(inserted).toEqual([{ slug: 'drizzle-batch' }]);
    // The second statement sees the first: same transaction.
    expect(selected).toEqual([{ slug: 'drizzle-batch' }]);

    const error = await rejection(
      db.batch([
        db.insert(notes).values({ slug: 'drizzle-rollback' }),
        db.insert(notes).values({ slug: 'drizzle-batch' }),
      ]),
    );
    expect(error).toMatchObject({ code: '23505' });
    expect(await countSlugs('drizzle-rollback')).toBe(0);
  });
});
