import { neon, neonConfig, Pool } from '@neondatabase/serverless';
import { getTableColumns, sql, type Table } from 'drizzle-orm';
import { drizzle as drizzleHttp, type NeonHttpDatabase } from 'drizzle-orm/neon-http';
import { drizzle as drizzleWs, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import type { Config } from './env';
import * as schema from './schema';

type WsDatabase = NeonDatabase<typeof schema>;

/**
 * The request's database. Statements and batches (`db.batch`, a non-interactive transaction) go
 * over Neon's HTTP query path: one round trip each, no connection to open. `db.transaction` is the
 * interactive kind, for decisions taken under `pg_advisory_xact_lock`: it opens a WebSocket pool
 * on first use, so a request that needs none never pays for one.
 */
export type Db = Omit<NeonHttpDatabase<typeof schema>, 'transaction'> & Pick<WsDatabase, 'transaction'>;
export type Tx = Parameters<Parameters<WsDatabase['transaction']>[0]>[0];
/** Anything that runs queries: the database or an open transaction. */
export type Queryable = Db | Tx;

type DbConfig = Pick<Config, 'DATABASE_URL' | 'NEON_WS_PROXY' | 'NEON_HTTP_ENDPOINT'>;

let localConfigured: string | undefined;

/**
 * Local stack only: stand-ins for Neon's edge (a WebSocket proxy in front of a transaction-mode
 * pool, and an HTTP `/sql` endpoint). The proxy asks for a cleartext password as Neon's does, so
 * `pipelineConnect` sends startup, password and the first query in one flight, as in the cloud.
 */
function configureLocal(config: DbConfig): void {
  const key = `${config.NEON_WS_PROXY}|${config.NEON_HTTP_ENDPOINT}`;
  if (localConfigured === key) return;
  if (config.NEON_WS_PROXY) {
    const proxy = config.NEON_WS_PROXY;
    neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
  }
  if (config.NEON_HTTP_ENDPOINT) {
    const endpoint = config.NEON_HTTP_ENDPOINT;
    neonConfig.fetchEndpoint = () => endpoint;
  }
  localConfigured = key;
}

/**
 * The HTTP path's drizzle, once per isolate and database: it holds no socket (each query is its own
 * fetch), so requests may share it, and drizzle's schema is mapped once instead of per request.
 */
const httpDatabases = new Map<string, NeonHttpDatabase<typeof schema>>();

function httpDatabase(url: string) {
  let http = httpDatabases.get(url);
  if (!http) {
    http = drizzleHttp({ client: neon(url), schema });
    httpDatabases.set(url, http);
  }
  return http;
}

/** What the requests of an isolate on one database share (the HTTP database): a key for state kept per isolate. */
export const sharedPart = (db: Db): object => Object.getPrototypeOf(db);

/** A database for one request: Workers must not share sockets across requests. Close it when done. */
export function openDb(config: DbConfig): { db: Db; close: () => Promise<void> } {
  configureLocal(config);
  let pool: Pool | undefined;
  const transaction: WsDatabase['transaction'] = (run, options) => {
    if (!pool) {
      pool = new Pool({ connectionString: config.DATABASE_URL, max: 4 });
      // An idle client that errors (e.g. the socket drops) must not crash the isolate.
      pool.on('error', () => {});
    }
    return drizzleWs({ client: pool, schema }).transaction(run, options);
  };
  // This request's transactions on top of the shared HTTP database (its methods by prototype).
  const db = Object.assign(Object.create(httpDatabase(config.DATABASE_URL)), { transaction }) as Db;
  return {
    db,
    close: async () => {
      await pool?.end();
    },
  };
}

/**
 * Takes transaction-scoped advisory locks, always in sorted order so two transactions that need
 * overlapping keys cannot deadlock. Released at commit or rollback, never held across requests.
 */
export async function lockKeys(tx: Tx, ...keys: string[]): Promise<void> {
  const sorted = [...new Set(keys)].sort();
  if (sorted.length === 0) return;
  await tx.execute(lockStatement(sorted));
}

/** One statement taking the advisory locks of `keys`, in the order given (callers sort). */
export function lockStatement(keys: string[]) {
  return sql`SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(${textArray(keys)}) AS k`;
}

/**
 * `lockStatement` as a column of a statement that does more before it needs the locks (checks the
 * caller's key, say): the locks cost no statement of their own. Volatile, so never optimised away.
 */
export function locksTaken(keys: string[]) {
  return sql`(SELECT count(*) FROM (${lockStatement(keys)}) AS locked)`;
}

/** A list as one `<type>[]` parameter (drizzle would spread a bare array into a list). */
export function typedArray(values: unknown[], type: string) {
  return sql`${sql.param(values)}::${sql.raw(type)}[]`;
}

export const textArray = (values: string[]) => typedArray(values, 'text');

/**
 * A row of `table` from its `to_jsonb(...)` form (database column names), typed and mapped as
 * drizzle maps a selected row: for statements whose rows come back as JSON (data-modifying CTEs).
 */
export function rowFromJson<T extends Table>(table: T, json: Record<string, unknown>): T['$inferSelect'] {
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = json[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as T['$inferSelect'];
}
