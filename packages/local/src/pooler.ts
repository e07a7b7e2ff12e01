import { timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import type { ParameterStatusMessage, ReadyForQueryMessage } from 'pg-protocol/dist/messages';
import { Parser } from 'pg-protocol/dist/parser';

/**
 * Warm PostgreSQL connections, one bounded pool per database, handed out a transaction at a time
 * as pgbouncer's transaction mode does. The WebSocket proxy leases a backend when a client starts
 * sending and gets it back when the backend's ReadyForQuery says idle with no reply pending.
 */

export interface Upstream {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

/** Whoever holds a backend's lease: it gets the backend's bytes unchanged, then the lease's end. */
export interface Lessee {
  receive(chunk: Buffer): void;
  /** `lost`: the backend closed mid-lease, so whatever the lessee had open there is gone. */
  end(lost: boolean): void;
}

/** Stands in for a client that left mid-lease while its backend is brought back to idle. */
const ABANDONED: Lessee = { receive: () => {}, end: () => {} };

const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'

export class Backend {
  /** Transaction status from the last ReadyForQuery: 'I' idle, 'T' in a transaction, 'E' failed one. */
  private status = 'I';
  /** Sync and Query messages sent whose ReadyForQuery has not come back: each brings exactly one. */
  private pending = 0;
  private readonly parser = new Parser();
  lessee: Lessee | undefined;
  idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly pool: BackendPool,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => {
      this.lessee?.end(true);
      pool.drop(this);
    });
  }

  /** One client message; messages sent in the same tick leave in one TCP write. */
  send(message: Buffer): void {
    if (message[0] === SYNC || message[0] === QUERY) this.pending++;
    if (!this.socket.writableCorked) {
      this.socket.cork();
      process.nextTick(() => this.socket.uncork());
    }
    this.socket.write(message);
  }

  /**
   * The client left while holding this backend: a Sync ends any extended-protocol batch it left
   * half sent, and a transaction still open then is rolled back (which also frees its advisory xact
   * locks) before the backend goes back to the pool.
   */
  abandon(): void {
    this.lessee = ABANDONED;
    this.send(serialize.sync());
  }

  close(): void {
    this.socket.end(serialize.end());
  }

  private receive(chunk: Buffer): void {
    this.parser.parse(chunk, (message) => {
      if (message.name !== 'readyForQuery') return;
      this.pending--;
      this.status = (message as ReadyForQueryMessage).status;
    });
    const lessee = this.lessee;
    if (!lessee) return; // idle in the pool: nothing is expected, nobody to tell
    lessee.receive(chunk);
    if (this.pending > 0) return;
    if (this.status === 'I') {
      this.lessee = undefined;
      lessee.end(false);
      this.pool.release(this);
    } else if (lessee === ABANDONED) {
      this.send(serialize.query('ROLLBACK'));
    }
  }
}

interface Waiter {
  resolve: (backend: Backend) => void;
  reject: (error: unknown) => void;
}

export class BackendPool {
  /** Most recently used last, so the oldest idle ones reach their idle timeout and close. */
  private readonly idle: Backend[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly backends = new Set<Backend>();
  /** Open or opening: what counts against `max`. */
  private size = 0;
  /** The ParameterStatus values the latest backend sent at startup, replayed to each client. */
  parameters: Array<[string, string]> | undefined;

  constructor(
    private readonly upstream: Upstream,
    private readonly options: {
      max: number;
      idleTimeoutMs: number;
      onOpened: () => void;
      /** PostgreSQL refused this pool's login (its password, a role's limit) while none is open. */
      onRefused: () => void;
    },
  ) {}

  /** A client of this pool must have given the password the pool logs in with. */
  acceptsPassword(password: string): boolean {
    const expected = Buffer.from(this.upstream.password);
    const given = Buffer.from(password);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  get open(): number {
    return this.backends.size;
  }

  acquire(): Promise<Backend> {
    const backend = this.idle.pop();
    if (backend) {
      clearTimeout(backend.idleTimer);
      return Promise.resolve(backend);
    }
    if (this.size < this.options.max) return this.connect();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(backend: Backend): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve(backend);
      return;
    }
    // Closed when idle a while, so an unused database can be dropped.
    backend.idleTimer = setTimeout(() => {
      this.idle.splice(this.idle.indexOf(backend), 1);
      backend.close();
    }, this.options.idleTimeoutMs);
    this.idle.push(backend);
  }

  /** A backend closed (idle timeout, error, server shutdown): its slot goes to a waiter if any. */
  drop(backend: Backend): void {
    clearTimeout(backend.idleTimer);
    const index = this.idle.indexOf(backend);
    if (index >= 0) this.idle.splice(index, 1);
    if (this.backends.delete(backend)) this.slotFreed();
  }

  close(): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error('the pool is closing'));
    for (const backend of this.backends) backend.close();
  }

  private slotFreed(): void {
    this.size--;
    const waiter = this.waiters.shift();
    if (waiter) this.connect().then(waiter.resolve, waiter.reject);
  }

  /**
   * pg's Client does the startup and SCRAM authentication; then the socket is ours: pg's parser
   * is detached (no 'data' listener) and the abandoned Client may only report the socket's end,
   * which it keeps to itself.
   */
  private async connect(): Promise<Backend> {
    this.size++;
    const client = new pg.Client(this.upstream);
    client.on('error', () => {});
    const parameters: Array<[string, string]> = [];
    client.connection.on('parameterStatus', (message: ParameterStatusMessage) =>
      parameters.push([message.parameterName, message.parameterValue]),
    );
    try {
      await client.connect();
    } catch (error) {
      this.slotFreed();
      if (this.backends.size === 0) this.options.onRefused();
      throw error;
    }
    this.parameters = parameters;
    const socket = client.connection.stream as Socket;
    socket.removeAllListeners('data');
    const backend = new Backend(socket, this);
    this.backends.add(backend);
    this.options.onOpened();
    return backend;
  }
}
