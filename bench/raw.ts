import { ensureDatabase, type LocalPostgres } from '@agent-messaging/local';
import pg from 'pg';
import { burst } from './measure';

const CONNECTIONS = 32;

/**
 * The ceiling: single-row INSERTs of a message-sized row through `pg`, by 32 concurrent
 * inserters on 32 connections opened beforehand. Nothing a pipeline does per message is cheaper.
 */
export async function rawInsertTps(postgres: LocalPostgres, rows: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: await ensureDatabase(postgres, 'raw'), max: CONNECTIONS });
  try {
    await pool.query(
      `CREATE TABLE messages (id bigserial PRIMARY KEY, recipient text NOT NULL, content jsonb NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now())`,
    );
    // Open every connection first: the figure is statements per second, not connects.
    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => pool.connect()));
    for (const client of clients) client.release();
    const insert = async (i: number) => {
      await pool.query('INSERT INTO messages (recipient, content) VALUES ($1, $2)', ['raw', { seq: i }]);
    };
    const start = performance.now();
    const { failed } = await burst(rows, CONNECTIONS, insert);
    const seconds = (performance.now() - start) / 1000;
    if (failed) throw new Error(`${failed} raw inserts failed`);
    return rows / seconds;
  } finally {
    await pool.end();
  }
}
