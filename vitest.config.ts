import { defineConfig } from 'vitest/config';

const shared = { testTimeout: 30_000, hookTimeout: 60_000 };

export default defineConfig({
  test: {
    maxWorkers: 2,
    projects: [
      {
        test: {
          ...shared,
          name: 'stack',
          include: ['tests/**/*.test.ts'],
          exclude: ['tests/chaos/**'],
          // One PostgreSQL, migrated template and worker bundles for the run; a database per test file.
          globalSetup: ['tests/setup/global-setup.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'chaos',
          include: ['tests/chaos/**/*.test.ts'],
          // It loads both cores for its whole length (its own PostgreSQL, workers it kills): run
          // after the rest, so no other file's timings share the machine with it.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
