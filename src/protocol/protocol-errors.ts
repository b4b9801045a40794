// Typed errors of the remoting layer. Frame errors end a connection; header errors end a request
// with SYSTEM_ERROR; client errors say whether the request's outcome is known.
import { RmqError, type RmqErrorOptions } from '../common/errors.js';
import { ResponseCode } from './response-code.js';

/** The byte stream is not a sequence of remoting frames; the connection cannot be resynchronized. */
export class MalformedFrameError extends RmqError {
  constructor(message: string, options: RmqErrorOptions = {}) {
    super('ERR_REMOTING_MALFORMED_FRAME', message, options);
  }
}

/** A frame announces a length over the limit (16 MiB by default). */
export class FrameTooLargeError extends RmqError {
  constructor(readonly frameBytes: number, readonly maxFrameBytes: number) {
    super('ERR_REMOTING_FRAME_TOO_LARGE', `frame of ${frameBytes} bytes exceeds the limit of ${maxFrameBytes} bytes`);
  }
}

/** A request header field is missing or has a value of the wrong kind. */
export class HeaderFieldError extends RmqError {
  constructor(readonly field: string, message: string) {
    super('ERR_REMOTING_HEADER_FIELD', message, { responseCode: ResponseCode.SYSTEM_ERROR });
  }
}

/** A request body (JSON) could not be read. */
export class BadRequestBodyError extends RmqError {
  constructor(message: string, options: RmqErrorOptions = {}) {
    super('ERR_REMOTING_BAD_REQUEST_BODY', message, { responseCode: ResponseCode.SYSTEM_ERROR, ...options });
  }
}

/**
 * No response arrived in time. The request may or may not have been processed by the server:
 * callers must treat the outcome as unknown (a Jepsen-style :info), never as a failure.
 */
export class RemotingTimeoutError extends RmqError {
  readonly outcomeUnknown = true;
  constructor(readonly addr: string, readonly requestCode: number, readonly timeoutMs: number) {
    super(
      'ERR_REMOTING_TIMEOUT',
      `request code ${requestCode} to ${addr} got no response within ${timeoutMs} ms; the outcome is unknown (the server may have processed it)`,
    );
  }
}

/**
 * The connection failed or closed. `outcomeUnknown` is true when the request had already been
 * handed to the socket (the server may have processed it), false when it never left this process.
 */
export class RemotingConnectionError extends RmqError {
  constructor(readonly addr: string, readonly outcomeUnknown: boolean, message: string, options: RmqErrorOptions = {}) {
    super('ERR_REMOTING_CONNECTION', message, options);
  }
}

/** The client was closed while the request was pending or before it was sent. */
export class RemotingClosedError extends RmqError {
  constructor(message = 'remoting client is closed') {
    super('ERR_REMOTING_CLOSED', message);
  }
}

/** Too many requests in flight or too many bytes waiting to be written; nothing was sent. */
export class RemotingOverloadError extends RmqError {
  readonly outcomeUnknown = false;
  constructor(message: string) {
    super('ERR_REMOTING_OVERLOAD', message, { responseCode: ResponseCode.SYSTEM_BUSY });
  }
}
