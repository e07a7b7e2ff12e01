import { randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BackendError, type ClientParameters, type DuplexStream, PostgresConnection } from 'pg-gateway';
import { Writer } from 'pg-protocol/dist/buffer-writer';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Backend, BackendPool, type Lessee, type Upstream } from './pooler';

/**
 * Stands in locally for Neon's WebSocket edge and its pooled (pgbouncer, transaction mode)
 * endpoint, so the serverless driver runs unchanged against a local server without paying a
 * PostgreSQL backend (fork, authentication, cold caches) per request.
 *
 * Each WebSocket (`/v1?address=host:port`, loopback only) speaks the PostgreSQL protocol to the
 * proxy: pg-gateway answers the startup and asks for a cleartext password, as Neon's proxy does (so
 * the driver's `pipelineConnect: 'password'` can send startup, password and first query at once),
 * and the client gets the ParameterStatus a real backend of its database sent. Then each
 * transaction leases a warm backend from the pool of its database and role, and bytes pass
 * unchanged both ways. The pool logs in with the credentials its first client gave, so PostgreSQL
 * itself judges them (a bad password, a role's connection limit reach the client with their
 * SQLSTATE); later clients of that pool must give the same password.
 *
 * As behind any transaction-mode pooler, session state ends with the transaction and may reach the
 * backend's next client. So clients must not use SET (SET LOCAL is fine), session advisory locks
 * (pg_advisory_xact_lock is fine), LISTEN, named prepared statements or WITH HOLD cursors across
 * transactions, or temporary tables that outlive one; startup parameters (application_name,
 * options, timeouts) are not applied, and a CancelRequest is not supported.
 */

export interface WsProxyOptions {
  port?: number;
  /** Backends per database; more concurrent transactions wait for one. */
  poolSize?: number;
  /** An idle backend closes after this, so a database nobody uses can be dropped. */
  idleTimeoutMs?: number;
}

export interface WsProxyStats {
  clientConnections: number;
  /** Times a client waited on the server: each Sync or Query it sent, plus `authExchanges`. */
  roundTrips: number;
  /**
   * Startup replies a client waited for: 2 per connection, none when its password had come with its
   * startup (pipelineConnect; sent in separate WebSocket messages it may arrive too late to tell).
   */
  authExchanges: number;
  backendsOpened: number;
  /** Backends open now, all databases together. */
  backendsOpen: number;
}

export interface WsProxy {
  port: number;
  stats(): WsProxyStats;
  close(): Promise<void>;
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

export async function startWsProxy(options: WsProxyOptions = {}): Promise<WsProxy> {
  const counters = { clientConnections: 0, roundTrips: 0, authExchanges: 0, backendsOpened: 0 };
  const pools = new Map<string, BackendPool>();
  /** The pool of this database and role; undefined when the password is not the pool's. */
  const poolFor = (upstream: Upstream): BackendPool | undefined => {
    const key = `${upstream.host}:${upstream.port}/${upstream.database}/${upstream.user}`;
    let pool = pools.get(key);
    if (pool && !pool.acceptsPassword(upstream.password)) return undefined;
    if (!pool) {
      pool = new BackendPool(upstream, {
        max: options.poolSize ?? 20,
        idleTimeoutMs: options.idleTimeoutMs ?? 10_000,
        onOpened: () => counters.backendsOpened++,
        // Credentials PostgreSQL refused: the next client tries its own.
        onRefused: () => pools.delete(key),
      });
      pools.set(key, pool);
    }
    return pool;
  };

  const server: Server = createServer((_req, res) => res.writeHead(426).end('WebSocket only'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, request) => {
    const address = new URL(request.url ?? '/', 'http://proxy').searchParams.get('address') ?? '';
    const [host, portText] = address.split(':');
    if (!host || !LOOPBACK.includes(host) || !portText) {
      socket.close(1008, 'only local PostgreSQL');
      return;
    }
    counters.clientConnections++;
    new ClientSession(socket, {
      counters,
      poolFor: (login) => poolFor({ host, port: Number(portText), ...login }),
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stats: () => ({
      ...counters,
      backendsOpen: [...pools.values()].reduce((sum, pool) => sum + pool.open, 0),
    }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        for (const pool of pools.values()) pool.close();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

interface ProxyContext {
  counters: Omit<WsProxyStats, 'backendsOpen'>;
  poolFor: (login: Omit<Upstream, 'host' | 'port'>) => BackendPool | undefined;
}

const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const TERMINATE = 0x58; // 'X'
const PARAMETER_STATUS = 0x53; // 'S', backend
const BACKEND_KEY_DATA = 0x4b; // 'K'

/** An onMessage answer that yields nothing but returns a value, which pg-gateway takes as handled. */
const HANDLED: Iterable<Uint8Array> = {
  [Symbol.iterator]: () => ({ next: () => ({ done: true, value: 'handled' }) }),
};

function fatal(error: unknown): BackendError {
  const { code, message } = error as { code?: string; message?: string };
  return BackendError.create({ severity: 'FATAL', code: code ?? '08006', message: message ?? String(error) });
}

/** One client WebSocket: its startup, then its transactions, each on a leased backend. */
class ClientSession implements Lessee {
  private database: string | undefined;
  private pool: BackendPool | undefined;
  private backend: Backend | undefined;
  /** Messages waiting for a backend; the first one starts a lease. */
  private readonly queue: Buffer[] = [];
  private closed = false;
  private received = 0;
  private startupLength = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly context: ProxyContext,
  ) {
    new PostgresConnection(this.duplex(), {
      auth: {
        method: 'password',
        // Not checked here: PostgreSQL judges the password when the pool logs in with it.
        getClearTextPassword: () => '',
        validateCredentials: ({ username, password }) => {
          this.pool = context.poolFor({ database: this.database ?? username, user: username, password });
          return this.pool !== undefined;
        },
      },
      onStartup: (state) => this.started(state.clientParams as ClientParameters),
      onAuthenticated: () => this.authenticated(),
      onMessage: (message, state) => {
        // Startup, password and Terminate are pg-gateway's; Terminate closes only this client.
        if (!state.isAuthenticated || message[0] === TERMINATE) return undefined;
        this.forward(message);
        return HANDLED;
      },
    });
    ws.on('error', () => {}); // 'close' follows
    ws.on('close', () => {
      this.closed = true;
      this.backend?.abandon();
      this.backend = undefined;
    });
  }

  receive(chunk: Buffer): void {
    this.ws.send(chunk);
  }

  end(lost: boolean): void {
    this.backend = undefined;
    if (lost) this.ws.close(1011, 'server connection lost');
  }

  /**
   * The WebSocket as the streams pg-gateway reads and writes. Two of its quirks are met here: it
   * frames all of a chunk's messages as startup messages until the startup is handled (so pipelined
   * messages after the startup go in a chunk of their own), and it reads lengths through a DataView
   * of the chunk's whole ArrayBuffer (so each chunk is a copy with its own buffer).
   */
  private duplex(): DuplexStream<Uint8Array> {
    const readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.ws.on('message', (data: Buffer) => {
          const chunk = new Uint8Array(data);
          if (this.received === 0 && chunk.length > 4) {
            this.startupLength = new DataView(chunk.buffer).getInt32(0);
            controller.enqueue(chunk.subarray(0, this.startupLength));
            if (chunk.length > this.startupLength) controller.enqueue(chunk.slice(this.startupLength));
          } else {
            controller.enqueue(chunk);
          }
          this.received += chunk.length;
        });
        this.ws.on('close', () => controller.close());
      },
    });
    const writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.ws.send(chunk),
      close: () => this.ws.close(),
      abort: () => this.ws.terminate(),
    });
    return { readable, writable };
  }

  private started(parameters: ClientParameters): void {
    this.database = parameters.database ?? parameters.user;
    // A client that sent only its startup waits for the password request, then for AuthenticationOk;
    // one that pipelined its password waits only for its first query, which counts itself.
    if (this.received === this.startupLength) {
      this.context.counters.authExchanges += 2;
      this.context.counters.roundTrips += 2;
    }
  }

  /** After AuthenticationOk, what a real server sends before ReadyForQuery. */
  private async authenticated(): Promise<void> {
    const pool = this.pool as BackendPool;
    try {
      // The first client of a database opens its first backend, which also checks it exists.
      if (!pool.parameters) pool.release(await pool.acquire());
    } catch (error) {
      throw fatal(error);
    }
    const messages = (pool.parameters ?? []).map(([name, value]) =>
      new Writer().addCString(name).addCString(value).flush(PARAMETER_STATUS),
    );
    // Only has to look real: cancel requests are not supported.
    messages.push(
      new Writer()
        .addInt32(randomInt(1, 2 ** 31))
        .addInt32(randomInt(2 ** 31))
        .flush(BACKEND_KEY_DATA),
    );
    // pg-gateway holds the stream's writer until ReadyForQuery, and AuthenticationOk has gone out.
    this.ws.send(Buffer.concat(messages));
  }

  private forward(message: Uint8Array): void {
    if (message[0] === SYNC || message[0] === QUERY) this.context.counters.roundTrips++;
    const copy = Buffer.from(message); // pg-gateway reuses its buffer for later chunks
    if (this.backend) {
      this.backend.send(copy);
    } else {
      this.queue.push(copy);
      if (this.queue.length === 1) void this.lease();
    }
  }

  private async lease(): Promise<void> {
    const pool = this.pool as BackendPool;
    let backend: Backend;
    try {
      backend = await pool.acquire();
    } catch (error) {
      this.ws.send(fatal(error).flush());
      this.ws.close();
      return;
    }
    if (this.closed) return pool.release(backend);
    this.backend = backend;
    backend.lessee = this;
    for (const message of this.queue.splice(0)) backend.send(message);
  }
}
