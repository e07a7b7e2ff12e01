// Bundles the CLI with the SDK and its libraries inlined: one file with no runtime dependencies, which
// is what the packed package ships (the SDK is TypeScript source and not published).
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

await build({
  absWorkingDir: fileURLToPath(new URL('..', import.meta.url)),
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/agent-messaging.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  // Bundled CommonJS (commander) requires node's builtins, which an ES module can only do through this.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);",
  },
});
