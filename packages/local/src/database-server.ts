import pg from 'pg';
import { type LocalPostgres, startPostgres } from './postgres';
import { startSqlHttp } from './sql-http';
import { startWsProxy, type WsProxyStats } from './ws-proxy';

/** Counters of everything the workers asked of the database, where the bytes pass. */
export interface DatabaseStats extends WsProxyStats {
  /** Requests to the HTTP query endpoint (each one round trip: a statement or a batch). */
  httpRequests: number;
  /** Round trips of both paths: the WebSocket proxy's and the HTTP endpoint's. */
  allRoundTrips: number;
  /** PostgreSQL backends opened by both paths' pools. */
  newBackends: number;
}

/** Stand-ins for Neon's edge, counting what passes through them. */
export interface NeonEdge {
  /** `host:port` of the WebSocket proxy, the value of NEON_WS_PROXY. */
  wsProxy: string;
  /** URL of the stand-in for Neon's HTTP query endpoint, the value of NEON_HTTP_ENDPOINT. */
  sqlEndpoint: string;
  stats: () => DatabaseStats;
  close: () => Promise<void>;
}

/**
 * The stand-ins for Neon's edge that let the Neon driver in the workers reach PostgreSQL: the
 * WebSocket proxy (interactive transactions) and the HTTP query endpoint (statements, batches).
 * They reach whichever server the connection string names, so several may share one PostgreSQL.
 */
export async function startNeonEdge(): Promise<NeonEdge> {
  const proxy = await startWsProxy();
  const http = await startSqlHttp();
  return {
    wsProxy: `127.0.0.1:${proxy.port}`,
    sqlEndpoint: http.url,
    stats: () => {
      const ws = proxy.stats();
      const { requests, backendsOpened } = http.stats();
      return {
        ...ws,
        httpRequests: requests,
        allRoundTrips: ws.roundTrips + requests,
        newBackends: ws.backendsOpened + backendsOpened,
      };
    },
    close: async () => {
      await http.close();
      await proxy.close();
    },
  };
}

export interface DatabaseServer extends Omit<NeonEdge, 'close'> {
  postgres: LocalPostgres;
  stop: () => Promise<void>;
}

/** PostgreSQL plus the stand-ins for Neon's edge in front of it. */
export async function startDatabaseServer(
  dataDir: string,
  options: { port?: number; throwaway?: boolean } = {},
): Promise<DatabaseServer> {
  const postgres = await startPostgres(dataDir, options);
  const { close, ...edge } = await startNeonEdge();
  return {
    postgres,
    ...edge,
    stop: async () => {
      await close();
      await postgres.stop();
    },
  };
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Creates `name` unless it exists, optionally as a copy of `template` (fast: a file copy). */
export async function ensureDatabase(
  postgres: LocalPostgres,
  name: string,
  template?: string,
): Promise<string> {
  const client = new pg.Client({ connectionString: postgres.url('postgres') });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(
        `CREATE DATABASE ${quoteIdent(name)}${template ? ` TEMPLATE ${quoteIdent(template)}` : ''}`,
      );
    }
  } finally {
    await client.end();
  }
  return postgres.url(name);
}
