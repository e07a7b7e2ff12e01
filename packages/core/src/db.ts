import { neonConfig, Pool } from '@neondatabase/serverless';
import { sql } from 'drizzle-orm';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import type { Config } from './env';
import * as schema from './schema';

export type Db = NeonDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Anything that runs queries: the database or an open transaction. */
export type Queryable = Db | Tx;

let proxyConfigured: string | undefined;

function configureLocalProxy(proxy: string): void {
  if (proxyConfigured === proxy) return;
  // Local stack only: a WebSocket-to-TCP proxy stands in for Neon's edge (plain ws, password auth).
  neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineConnect = false;
  neonConfig.pipelineTLS = false;
  proxyConfigured = proxy;
}

/** A pool for one request: Workers must not share sockets across requests. Close it when done. */
export function openDb(config: Pick<Config, 'DATABASE_URL' | 'NEON_WS_PROXY'>): {
  db: Db;
  close: () => Promise<void>;
} {
  if (config.NEON_WS_PROXY) configureLocalProxy(config.NEON_WS_PROXY);
  const pool = new Pool({ connectionString: config.DATABASE_URL, max: 4 });
  // An idle client that errors (e.g. the socket drops) must not crash the isolate.
  pool.on('error', () => {});
  return { db: drizzle({ client: pool, schema }), close: () => pool.end() };
}

/** Runs several reads against one snapshot, so they agree with each other. */
export function inSnapshot<T>(db: Db, read: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(read, { isolationLevel: 'repeatable read', accessMode: 'read only' });
}

/**
 * Takes transaction-scoped advisory locks, always in sorted order so two transactions that need
 * overlapping keys cannot deadlock. Released at commit or rollback, never held across requests.
 */
export async function lockKeys(tx: Tx, ...keys: string[]): Promise<void> {
  for (const key of [...new Set(keys)].sort()) {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
  }
}
