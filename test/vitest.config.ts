import { defineConfig } from 'vitest/config';

// Tests run from TypeScript sources; process-level tests spawn the compiled JS in dist/
// (npm test builds first). Timeouts are generous because CI has 2 shared cores.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
