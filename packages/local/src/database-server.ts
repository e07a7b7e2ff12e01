import pg from 'pg';
import { type LocalPostgres, startPostgres } from './postgres';
import { startWsProxy } from './ws-proxy';

export interface DatabaseServer {
  postgres: LocalPostgres;
  /** `host:port` of the WebSocket proxy, the value of NEON_WS_PROXY. */
  wsProxy: string;
  stop: () => Promise<void>;
}

/** PostgreSQL plus the WebSocket proxy that lets the Neon driver in the workers reach it. */
export async function startDatabaseServer(
  dataDir: string,
  options: { port?: number; throwaway?: boolean } = {},
): Promise<DatabaseServer> {
  const postgres = await startPostgres(dataDir, options);
  const proxy = await startWsProxy();
  return {
    postgres,
    wsProxy: `127.0.0.1:${proxy.port}`,
    stop: async () => {
      await proxy.close();
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
