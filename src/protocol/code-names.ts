// Names of request and response codes, for people: metrics labels, log lines and CLI messages
// say SEND_MESSAGE_V2 and SERVICE_NOT_AVAILABLE instead of 310 and 14.
import { RaftRequestCode, RequestCode } from './request-code.js';
import { ResponseCode } from './response-code.js';

function reverse(table: Record<string, number>): Map<number, string> {
  const out = new Map<number, string>();
  // First name wins where two names share a code.
  for (const [name, code] of Object.entries(table)) if (!out.has(code)) out.set(code, name);
  return out;
}

const REQUEST_NAMES = reverse({ ...RequestCode, ...RaftRequestCode });
const RESPONSE_NAMES = reverse(ResponseCode);

/** "SEND_MESSAGE_V2" for 310; "request 4242" for a code we do not know. */
export function requestCodeName(code: number): string {
  return REQUEST_NAMES.get(code) ?? `request ${code}`;
}

/** "SERVICE_NOT_AVAILABLE" for 14; "code 4242" for a code we do not know. */
export function responseCodeName(code: number): string {
  return RESPONSE_NAMES.get(code) ?? `code ${code}`;
}

/** Answers that are a normal outcome, not a refusal: success, a pull that found nothing yet, a key not found. */
const NORMAL_OUTCOMES: ReadonlySet<number> = new Set([ResponseCode.SUCCESS, ResponseCode.PULL_NOT_FOUND, ResponseCode.PULL_RETRY_IMMEDIATELY, ResponseCode.PULL_OFFSET_MOVED, ResponseCode.QUERY_NOT_FOUND]);

/** True when a response code refuses the request (metrics count it, logs report it). */
export function isRefusal(code: number): boolean {
  return !NORMAL_OUTCOMES.has(code);
}
