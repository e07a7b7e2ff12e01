import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes forward-only SQL into migrations/ from the schema; never `push`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './packages/core/src/schema.ts',
  out: './migrations',
});
