import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { expect, inject } from 'vitest';

/**
 * An empty database of its own on the test PostgreSQL, for the local stand-ins' tests: `admin` is a
 * session on the server (to make and drop more), `direct` a plain session on this database.
 * `drop` removes it once nothing else holds a connection to it.
 */
export async function scratchDatabase(prefix: string) {
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const { postgresUrl } = inject('stack');
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const databaseUrl = postgresUrl.replace(/\/postgres$/, `/${name}`);
  const direct = new pg.Client({ connectionString: databaseUrl });
  await direct.connect();
  return {
    name,
    databaseUrl,
    admin,
    direct,
    drop: async () => {
      await direct.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    },
  };
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error) => error,
  );
}
