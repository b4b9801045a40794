// Operating errors of `rmq bench`, each with a stable code (docs/errors.md).
import { RmqError } from '../common/errors.js';

/** The cluster could not be started or reached, or the options do not fit it. */
export class BenchSetupError extends RmqError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_BENCH_SETUP', message, options);
  }
}

/** The read-back did not match what was acknowledged (lost, duplicated, corrupt or reordered). */
export class BenchVerificationError extends RmqError {
  constructor(message: string) {
    super('ERR_BENCH_NOT_VERIFIED', message);
  }
}
