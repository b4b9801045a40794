// Public surface of the benchmark: the CLI mounts benchCommand(); scripts and tests call runBench.
export { benchCommand, formatResults } from './bench-command.js';
export { runBench, peerName, BENCH_DEFAULTS, type BenchOptions, type BenchResult, type BenchCommandName } from './run-bench.js';
export { BenchSetupError, BenchVerificationError } from './bench-errors.js';
export { PayloadFactory } from './payload.js';
export type { SendMode } from './produce-phase.js';
