// The tools' one bounded poll (the dev-cluster kit, `rmq`, the benches): ask a probe until it has
// an answer, within a time bound. Used where no event says the state changed (another process's
// port, a NameServer route, a Raft status); where an event does, wait on the event. The tests have
// their own, test/helpers/poll.ts, which throws plain errors for vitest to print.
import { setTimeout as sleep } from 'node:timers/promises';
import { RmqError } from './errors.js';

export type PollErrorCode =
  /** The probe had no answer within the time bound; callers map it onto their own code. */
  | 'ERR_COMMON_POLL_TIMEOUT'
  /** `failure()` gave a reason to stop (a process died): the message is that reason. */
  | 'ERR_COMMON_POLL_FAILED';

export class PollError extends RmqError<PollErrorCode> {}

const DEFAULT_INTERVAL_MS = 100;

export interface PollOptions {
  /** Pause between two probes (default 100 ms); never past the bound. */
  intervalMs?: number;
  /** Asked before every probe; a reason ends the poll at once with ERR_COMMON_POLL_FAILED. */
  failure?: () => string | undefined;
}

/**
 * The first answer of `probe` that is not undefined. Probes at least once, then until `timeoutMs`
 * has passed (one last probe at the bound), and throws a PollError naming `what` after that.
 */
export async function pollUntil<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>, options: PollOptions = {}): Promise<T> {
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = options.failure?.();
    if (reason !== undefined) throw new PollError('ERR_COMMON_POLL_FAILED', reason);
    const value = await probe();
    if (value !== undefined) return value;
    const leftMs = deadline - Date.now();
    if (leftMs <= 0) throw new PollError('ERR_COMMON_POLL_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(Math.min(intervalMs, leftMs));
  }
}

/** Like pollUntil, but answers undefined when the time is up (a wait whose end is not an error). */
export function pollWithin<T>(timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>, options: PollOptions = {}): Promise<T | undefined> {
  return pollUntil('an answer', timeoutMs, probe, options).catch((err: unknown) => {
    if (err instanceof PollError && err.code === 'ERR_COMMON_POLL_TIMEOUT') return undefined;
    throw err;
  });
}

/** For `.catch` after pollUntil: a PollError becomes the caller's own error; any other error passes unchanged. */
export function mapPollError(map: (err: PollError) => Error): (err: unknown) => never {
  return (err: unknown) => {
    throw err instanceof PollError ? map(err) : err;
  };
}
