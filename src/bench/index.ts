// Public surface of the benchmark: scripts, tests and the CLI's `rmq bench` command
// (src/cli/commands/bench.ts) call runBench.
export { runBench, peerName, BENCH_DEFAULTS, type BenchOptions, type BenchResult, type BenchCommandName } from './run-bench.js';
export { BenchSetupError, BenchVerificationError } from './bench-errors.js';
export { PayloadFactory } from './payload.js';
export type { SendMode } from './produce-phase.js';
export { runCatchup, type CatchupOptions, type CatchupResult } from './catchup-bench.js';
