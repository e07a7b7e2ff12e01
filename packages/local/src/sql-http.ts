import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';

/**
 * Stands in for Neon's HTTP query endpoint (`POST /sql`) locally, speaking the format
 * `@neondatabase/serverless` 1.2 sends from `neon()`: one query, or a batch run as one transaction,
 * per request, over a warm `pg.Pool` per connection string. Only loopback databases are reached.
 */
export interface SqlHttpServer {
  /** The value for `neonConfig.fetchEndpoint`. */
  url: string;
  /**
   * HTTP requests served (each one database round trip as the worker sees it), statements run for
   * them (the requests' own, not BEGIN/COMMIT) and PostgreSQL backends the pools opened.
   */
  stats(): { requests: number; queries: number; backendsOpened: number };
  close(): Promise<void>;
}

interface QueryData {
  query: string;
  params?: unknown[];
}

const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]'];

const ISOLATION_LEVELS: Record<string, string> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
};

/** The fields of a PostgreSQL error the driver copies into its NeonDbError. */
const ERROR_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;

/** A refusal the client caused; answered as a 400 with a message, as Neon does. */
class BadRequest extends Error {}

/** Values stay PostgreSQL's text output: the driver parses them itself by `dataTypeID`. */
const rawText = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

export async function startSqlHttp(
  options: { port?: number; maxPerDatabase?: number } = {},
): Promise<SqlHttpServer> {
  const counters = { requests: 0, queries: 0, backendsOpened: 0 };
  const pools = new Map<string, pg.Pool>();

  function poolFor(connectionString: string): pg.Pool {
    let pool = pools.get(connectionString);
    if (!pool) {
      pool = new pg.Pool({
        connectionString,
        max: options.maxPerDatabase ?? 10,
        // Idle backends go away, so a test database can be dropped soon after its last query.
        idleTimeoutMillis: 10_000,
        types: rawText,
      });
      // A backend that dies (terminated, its database dropped) fails its request, or leaves the
      // pool if idle; either way it must not crash the process.
      pool.on('connect', (client) => {
        counters.backendsOpened++;
        client.on('error', () => {});
      });
      pool.on('error', () => {});
      pools.set(connectionString, pool);
    }
    return pool;
  }

  async function run(client: pg.PoolClient, { query, params }: QueryData) {
    counters.queries++;
    // Extended protocol always, as Neon: one statement per query, even without parameters.
    const config: pg.QueryArrayConfig & { queryMode: 'extended' } = {
      text: query,
      values: params ?? [],
      rowMode: 'array',
      queryMode: 'extended',
    };
    const { fields, rows, command, rowCount } = await client.query(config);
    return {
      // pg's field descriptions are Neon's: name, tableID, columnID, dataTypeID, dataTypeSize, ...
      fields,
      rows,
      command,
      rowCount,
      rowAsArray: true,
    };
  }

  async function transaction(client: pg.PoolClient, begin: string, batch: QueryData[]) {
    await client.query(begin);
    try {
      const results = [];
      for (const query of batch) results.push(await run(client, query));
      await client.query('COMMIT');
      return { results };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  /** `BEGIN` with the transaction modes the batch headers ask for. */
  function beginStatement(request: IncomingMessage): string {
    const modes: string[] = [];
    const isolation = request.headers['neon-batch-isolation-level'];
    if (isolation !== undefined) {
      const level = ISOLATION_LEVELS[String(isolation)];
      if (!level) throw new BadRequest(`unknown Neon-Batch-Isolation-Level: ${isolation}`);
      modes.push(`ISOLATION LEVEL ${level}`);
    }
    const readOnly = request.headers['neon-batch-read-only'];
    if (readOnly !== undefined) modes.push(readOnly === 'true' ? 'READ ONLY' : 'READ WRITE');
    const deferrable = request.headers['neon-batch-deferrable'];
    if (deferrable !== undefined) modes.push(deferrable === 'true' ? 'DEFERRABLE' : 'NOT DEFERRABLE');
    return `BEGIN ${modes.join(', ')}`;
  }

  async function execute(request: IncomingMessage, body: { query?: unknown; queries?: unknown }) {
    const connectionString = String(request.headers['neon-connection-string'] ?? '');
    let host: string;
    try {
      host = new URL(connectionString).hostname;
    } catch {
      throw new BadRequest('Neon-Connection-String is not a valid URL');
    }
    if (!LOOPBACK.includes(host)) throw new BadRequest('only a local PostgreSQL can be reached');
    // The driver always asks for both; answering in another format would silently differ from Neon.
    if (request.headers['neon-raw-text-output'] !== 'true' || request.headers['neon-array-mode'] !== 'true') {
      throw new BadRequest('only Neon-Raw-Text-Output: true and Neon-Array-Mode: true are supported');
    }
    const batch = Array.isArray(body.queries) ? (body.queries as QueryData[]) : undefined;
    if (!batch && typeof body.query !== 'string') throw new BadRequest('body needs query or queries');
    const begin = batch && beginStatement(request);

    const client = await poolFor(connectionString).connect();
    try {
      return batch && begin ? await transaction(client, begin, batch) : await run(client, body as QueryData);
    } finally {
      // Back to the pool only when outside a transaction (a lone `BEGIN` or a failed ROLLBACK are
      // not; pg-pool drops a lost connection itself): the next request must find a clean session.
      client.release(client.getTransactionStatus() !== 'I');
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? '/', 'http://local');
    if (url.pathname !== '/sql') return reply(response, 404, { message: 'not found' });
    if (request.method !== 'POST') return reply(response, 405, { message: 'POST only' });
    counters.requests++;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      let body: { query?: unknown; queries?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        throw new BadRequest('body is not JSON');
      }
      reply(response, 200, await execute(request, body));
    } catch (error) {
      if (error instanceof pg.DatabaseError) {
        const fields = Object.fromEntries(ERROR_FIELDS.map((name) => [name, error[name]]));
        reply(response, 400, { message: error.message, ...fields });
      } else if (error instanceof BadRequest) {
        reply(response, 400, { message: error.message });
      } else {
        // Not PostgreSQL's answer (connection refused, say): the driver reports it as a server error.
        reply(response, 500, { message: (error as Error).message });
      }
    }
  }

  const server = createServer((request, response) => void handle(request, response));
  // Longer than the client keeps idle sockets, so a worker never reuses one the server just closed.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sql`,
    stats: () => ({ ...counters }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...pools.values()].map((pool) => pool.end()));
    },
  };
}

function reply(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
