import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

/**
 * The api worker's static assets (Workers static assets, declared in sst.config.ts, served before
 * the worker runs): the renderer of the API reference at /docs, and the dashboard's script and
 * styles, so neither page needs a CDN. Built or copied here, not kept in git.
 */
export const API_ASSETS_DIR = fileURLToPath(new URL('../../../functions/api/assets', import.meta.url));

const renderer = {
  from: fileURLToPath(
    new URL('../../../node_modules/@scalar/api-reference/dist/browser/standalone.js', import.meta.url),
  ),
  to: `${API_ASSETS_DIR}/docs/scalar.js`,
};

const dashboard = fileURLToPath(new URL('../../../functions/api/dashboard', import.meta.url));

/** Puts the assets in place (the renderer again if its package changed since) and returns their directory. */
export function prepareApiAssets(): string {
  buildSync({
    entryPoints: { app: `${dashboard}/app.ts`, style: `${dashboard}/style.css` },
    outdir: `${API_ASSETS_DIR}/dashboard`,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'warning',
  });
  const current = statSync(renderer.to, { throwIfNoEntry: false });
  if (!current || current.mtimeMs < statSync(renderer.from).mtimeMs) {
    mkdirSync(dirname(renderer.to), { recursive: true });
    copyFileSync(renderer.from, renderer.to);
  }
  return API_ASSETS_DIR;
}
