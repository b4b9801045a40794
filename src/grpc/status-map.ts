// Remoting outcomes (response codes and thrown typed errors) as RocketMQ 5 Status codes, so a v5
// client sees the same refusal a remoting client would, with the broker's own remark.

import { isRmqError } from '../common/errors.js';
import { ResponseCode } from '../protocol/response-code.js';
import { status, type Status } from './proto.js';

const BY_RESPONSE_CODE: ReadonlyMap<number, string> = new Map([
  [ResponseCode.SUCCESS, 'OK'],
  [ResponseCode.SYSTEM_BUSY, 'TOO_MANY_REQUESTS'],
  [ResponseCode.MESSAGE_ILLEGAL, 'BAD_REQUEST'],
  // No ready Raft leader (or the outcome of a write is unknown): the client retries elsewhere.
  [ResponseCode.SERVICE_NOT_AVAILABLE, 'HA_NOT_AVAILABLE'],
  [ResponseCode.NO_PERMISSION, 'FORBIDDEN'],
  [ResponseCode.TOPIC_NOT_EXIST, 'TOPIC_NOT_FOUND'],
]);

/** The v5 code of a remoting response code (anything unlisted is an internal error). */
export function statusOfResponse(code: number, remark: string | undefined): Status {
  return status(BY_RESPONSE_CODE.get(code) ?? 'INTERNAL_SERVER_ERROR', remark ?? (code === ResponseCode.SUCCESS ? 'OK' : `broker answered code ${code}`));
}

/** A processor threw: typed errors keep their response code's meaning, others are internal. */
export function statusOfError(err: unknown): Status {
  if (isRmqError(err)) {
    if (err.code === 'ERR_COMMON_INVALID_TOPIC_NAME') return status('ILLEGAL_TOPIC', err.message);
    if (err.responseCode !== undefined) return statusOfResponse(err.responseCode, `${err.message} (${err.code})`);
    return status('INTERNAL_SERVER_ERROR', `${err.message} (${err.code})`);
  }
  return status('INTERNAL_SERVER_ERROR', err instanceof Error ? err.message : String(err));
}
