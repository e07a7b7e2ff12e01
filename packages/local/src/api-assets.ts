import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The api worker's static assets (Workers static assets, declared in sst.config.ts, served before
 * the worker runs): the renderer of the API reference at /docs, so it needs no CDN. Copied from the
 * installed package, not kept in git.
 */
export const API_ASSETS_DIR = fileURLToPath(new URL('../../../functions/api/assets', import.meta.url));

const renderer = {
  from: fileURLToPath(
    new URL('../../../node_modules/@scalar/api-reference/dist/browser/standalone.js', import.meta.url),
  ),
  to: `${API_ASSETS_DIR}/docs/scalar.js`,
};

/** Puts the assets in place (again if the package changed since) and returns their directory. */
export function prepareApiAssets(): string {
  const current = statSync(renderer.to, { throwIfNoEntry: false });
  if (!current || current.mtimeMs < statSync(renderer.from).mtimeMs) {
    mkdirSync(dirname(renderer.to), { recursive: true });
    copyFileSync(renderer.from, renderer.to);
  }
  return API_ASSETS_DIR;
}
