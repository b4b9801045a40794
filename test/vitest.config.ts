import { defineConfig } from 'vitest/config';

// Tests run from TypeScript sources; process-level tests spawn the compiled JS in dist/
// (npm test builds first). Timeouts are generous because CI has 2 shared cores. Two test files
// run at once (vitest's default is cores - 1, a single worker on CI's 2 cores): the suite spends
// much of its time waiting on elections, failovers and fixed-length fault runs, so two overlap
// well (about 13 instead of 20-25 minutes); every test must hold under that load.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
