// Typed operating errors of the client SDK. Every class has a stable `code` (docs/client.md lists
// them) and a message that says what to change; send failures also say whether the broker may
// have stored the message (`outcomeUnknown`), because a caller that retries must know.
import { RmqError, type RmqErrorOptions } from '../common/errors.js';
import { requestCodeName, responseCodeName } from '../protocol/code-names.js';

export class ClientError extends RmqError {}

/** A client option is missing or malformed (for example namesrvAddr is not host:port). */
export class ClientConfigError extends ClientError {
  constructor(message: string) {
    super('ERR_CLIENT_CONFIG', message);
  }
}

/** start() was not called, or shutdown() already was. */
export class ClientStateError extends ClientError {
  constructor(message: string) {
    super('ERR_CLIENT_STATE', message);
  }
}

/** No NameServer in namesrvAddr answered. */
export class NameServerUnreachableError extends ClientError {
  constructor(readonly addrs: readonly string[], options: RmqErrorOptions = {}) {
    const why = options.cause instanceof Error ? ` (${options.cause.message})` : '';
    super(
      'ERR_CLIENT_NAMESRV_UNREACHABLE',
      `no NameServer answered at ${addrs.join(';')}${why}; check namesrvAddr (host:port of a running NameServer, default port 9876) and that the NameServer is up`,
      options,
    );
  }
}

/** The NameServer has no route for the topic (and no broker offers to auto-create it). */
export class TopicNotExistError extends ClientError {
  constructor(readonly topic: string, remark?: string) {
    super(
      'ERR_CLIENT_TOPIC_NOT_EXIST',
      `topic '${topic}' does not exist${remark ? ` (${remark})` : ''}; create it first (Admin.createTopic or 'rmq admin updateTopic -t ${topic}') or set autoCreateTopicEnable=true on the brokers`,
    );
  }
}

/** The topic has a route but no queue that allows the operation (write for producers, read for consumers). */
export class NoQueueError extends ClientError {
  constructor(readonly topic: string, what: 'writable' | 'readable') {
    super('ERR_CLIENT_NO_QUEUE', `topic '${topic}' has no ${what} queue on a broker with a master; check the topic's perm and that its broker group has a leader`);
  }
}

export class InvalidTopicError extends ClientError {
  constructor(readonly topic: string, rule: string) {
    super('ERR_CLIENT_INVALID_TOPIC', `invalid topic name '${topic.slice(0, 200)}': ${rule}; rename the topic`);
  }
}

export class InvalidGroupError extends ClientError {
  constructor(readonly group: string, rule: string) {
    super('ERR_CLIENT_INVALID_GROUP', `invalid group name '${group.slice(0, 300)}': ${rule}; choose another group name`);
  }
}

/** The message cannot be sent as given (empty body, bad property, bad delay level, mixed batch). */
export class InvalidMessageError extends ClientError {
  constructor(message: string) {
    super('ERR_CLIENT_INVALID_MESSAGE', message);
  }
}

export class MessageTooLargeError extends ClientError {
  constructor(readonly sizeBytes: number, readonly maxBytes: number, what = 'message body') {
    super('ERR_CLIENT_MESSAGE_TOO_LARGE', `${what} of ${sizeBytes} bytes exceeds the limit of ${maxBytes} bytes (maxMessageSize); split it or send a reference to the data instead`);
  }
}

/** A broker answered with a non-success response code. */
export class BrokerResponseError extends ClientError {
  constructor(
    readonly addr: string,
    readonly requestCode: number,
    /** The response code the broker answered with. */
    readonly brokerCode: number,
    readonly remark: string | undefined,
  ) {
    // Names first, numbers after: a person reads SERVICE_NOT_AVAILABLE, a search finds 14.
    super('ERR_CLIENT_BROKER_RESPONSE', `broker ${addr} refused ${requestCodeName(requestCode)} (request ${requestCode}) with ${responseCodeName(brokerCode)} (code ${brokerCode})${remark ? `: ${remark}` : ''}`);
  }
}

/** A request to a broker could not be completed (connection failed, timed out). */
export class BrokerUnreachableError extends ClientError {
  constructor(readonly addr: string, readonly outcomeUnknown: boolean, options: RmqErrorOptions = {}) {
    const why = options.cause instanceof Error ? `: ${options.cause.message}` : '';
    super('ERR_CLIENT_BROKER_UNREACHABLE', `broker ${addr} did not answer${why}`, options);
  }
}

/**
 * sendMsgTimeout passed before any attempt succeeded. `outcomeUnknown` is true when an attempt
 * may have reached the broker: the message may be stored, so a retry by the caller can duplicate.
 */
export class SendTimeoutError extends ClientError {
  constructor(
    readonly topic: string,
    readonly timeoutMs: number,
    readonly attempts: number,
    readonly outcomeUnknown: boolean,
    options: RmqErrorOptions = {},
  ) {
    super(
      'ERR_CLIENT_SEND_TIMEOUT',
      `send to topic '${topic}' did not complete within ${timeoutMs} ms (${attempts} attempt(s)); ${
        outcomeUnknown ? 'the outcome is unknown: the message may have been stored' : 'the message was not stored'
      }. Raise sendMsgTimeout or check the broker group has a leader`,
      options,
    );
  }
}

/** Every attempt (1 + retryTimesWhenSendFailed) failed before the timeout. */
export class SendFailedError extends ClientError {
  constructor(
    readonly topic: string,
    readonly attempts: number,
    readonly outcomeUnknown: boolean,
    options: RmqErrorOptions = {},
  ) {
    const why = options.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(
      'ERR_CLIENT_SEND_FAILED',
      `send to topic '${topic}' failed after ${attempts} attempt(s)${why}; ${
        outcomeUnknown ? 'the outcome is unknown: the message may have been stored' : 'the message was not stored'
      }`,
      options,
    );
  }
}

/** Too many sendAsync calls are waiting for their response; nothing was sent. */
export class TooManyAsyncSendsError extends ClientError {
  readonly outcomeUnknown = false;
  constructor(limit: number) {
    super('ERR_CLIENT_TOO_MANY_ASYNC_SENDS', `${limit} asynchronous sends are already in flight; await some (or raise maxAsyncSendsInFlight) before sending more`);
  }
}

/** A response body or header could not be read. */
export class MalformedResponseError extends ClientError {
  constructor(message: string, options: RmqErrorOptions = {}) {
    super('ERR_CLIENT_MALFORMED_RESPONSE', message, options);
  }
}

/** An admin lookup found nothing. */
export class MessageNotFoundError extends ClientError {
  constructor(message: string) {
    super('ERR_CLIENT_MESSAGE_NOT_FOUND', message);
  }
}

/** True when an error says the message may have been stored (timeouts, dropped connections). */
export function isOutcomeUnknown(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { outcomeUnknown?: unknown }).outcomeUnknown === true;
}
