// Errors of SQL92 property filters. Both end a subscription the same way on the wire: the broker
// answers SUBSCRIPTION_PARSE_FAILED (23) with the message as its remark, at heartbeat and at pull,
// so a consumer learns at once that its expression will never be served.

import { RmqError } from '../errors.js';

/** RocketMQ's SUBSCRIPTION_PARSE_FAILED; kept here so common code needs no protocol import. */
const SUBSCRIPTION_PARSE_FAILED = 23;

/** The expression is not valid SQL92 filter syntax, or breaks one of RocketMQ's parse-time rules. */
export class FilterSyntaxError extends RmqError {
  /** 0-based character offset in the expression where the problem was found. */
  readonly position: number;

  constructor(what: string, position: number, expression: string) {
    super('ERR_FILTER_SYNTAX', `SQL92 filter: ${what} at position ${position}${near(expression, position)}`, { responseCode: SUBSCRIPTION_PARSE_FAILED });
    this.position = position;
  }
}

/** The expression is longer or nested deeper than the filter accepts (see docs/broker.md). */
export class FilterLimitError extends RmqError {
  constructor(message: string) {
    super('ERR_FILTER_LIMIT', `SQL92 filter: ${message}`, { responseCode: SUBSCRIPTION_PARSE_FAILED });
  }
}

function near(expression: string, position: number): string {
  if (position >= expression.length) return ' (end of expression)';
  const excerpt = expression.slice(position, position + 20);
  return ` (near '${excerpt}${position + 20 < expression.length ? '...' : ''}')`;
}
