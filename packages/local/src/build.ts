import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../../..', import.meta.url));

export const workerNames = ['api', 'dispatcher', 'sweeper'] as const;
export type WorkerName = (typeof workerNames)[number];

/** Bundles each function the way Wrangler/SST would, for miniflare: one ESM module per worker. */
export async function bundleWorkers(outDir: string): Promise<Record<WorkerName, string>> {
  const entries = Object.fromEntries(
    workerNames.map((name) => [name, `${root}/functions/${name}/src/index.ts`]),
  ) as Record<WorkerName, string>;
  await build({
    entryPoints: entries,
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    outExtension: { '.js': '.mjs' },
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  return Object.fromEntries(workerNames.map((name) => [name, `${outDir}/${name}.mjs`])) as Record<
    WorkerName,
    string
  >;
}
