#!/usr/bin/env node
// The published package runs its bundle. A checkout runs the TypeScript source through tsx (a
// devDependency of the repo) instead, so the command works right after `npm ci` and never lags
// behind an edit of the CLI or the SDK.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/agent-messaging.js');
}
