// Sorts a failed send into Jepsen's two kinds: `fail` (the message certainly was not stored) or
// `info` (it may have been). Only a refusal we can prove stored nothing is a `fail`; anything
// else, including errors we do not recognise, is `info`, because a wrong `fail` would make the
// checkers report a read of that value as an anomaly while a wrong `info` only weakens them.
import {
  BrokerResponseError,
  BrokerUnreachableError,
  ClientConfigError,
  ClientStateError,
  InvalidMessageError,
  MessageTooLargeError,
  NameServerUnreachableError,
  NoQueueError,
  TopicNotExistError,
  isOutcomeUnknown,
} from '../../src/client/index.js';

export type FailedSendType = 'fail' | 'info';

/** Remarks of a 14 (SERVICE_NOT_AVAILABLE) refusal that our broker sends only when nothing was proposed. */
const NOT_STORED_REMARK = /not stored|is not the Raft leader|no Raft leader yet/;
const SERVICE_NOT_AVAILABLE = 14;
const SYSTEM_BUSY = 2;
const MESSAGE_ILLEGAL = 13;

/** The innermost error the SDK saw (SendFailedError/SendTimeoutError wrap the last attempt's). */
function lastCause(err: unknown): unknown {
  let e = err;
  // Bounded: error chains are short; stop after a few links.
  for (let i = 0; i < 8; i++) {
    const c = (e as { cause?: unknown } | null)?.cause;
    if (c === undefined || c === null) break;
    e = c;
  }
  return e;
}

export function classifySendError(err: unknown): FailedSendType {
  if (isOutcomeUnknown(err)) return 'info';
  // With SDK retries only the last attempt's error is visible; an earlier one may have stored it.
  const attempts = (err as { attempts?: unknown } | null)?.attempts;
  if (typeof attempts === 'number' && attempts > 1) return 'info';
  const cause = lastCause(err);
  // Refused before anything was sent.
  if (cause instanceof NoQueueError || cause instanceof TopicNotExistError || cause instanceof NameServerUnreachableError) return 'fail';
  if (cause instanceof InvalidMessageError || cause instanceof MessageTooLargeError || cause instanceof ClientConfigError) return 'fail';
  if (cause instanceof BrokerUnreachableError) return cause.outcomeUnknown ? 'info' : 'fail';
  if (cause instanceof BrokerResponseError) {
    if (cause.brokerCode === SYSTEM_BUSY || cause.brokerCode === MESSAGE_ILLEGAL) return 'fail';
    // A 14 with "outcome unknown" (a proposal timeout) or "shutting down" may still commit.
    if (cause.brokerCode === SERVICE_NOT_AVAILABLE && NOT_STORED_REMARK.test(cause.remark ?? '')) return 'fail';
    return 'info';
  }
  if (cause instanceof ClientStateError) return 'info';
  return 'info';
}

export function errorSummary(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let i = 0; i < 4 && e !== undefined && e !== null; i++) {
    const code = (e as { code?: unknown }).code;
    const message = e instanceof Error ? e.message : String(e);
    parts.push(typeof code === 'string' ? `${code}: ${message}` : message);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(' <- ').slice(0, 400);
}
