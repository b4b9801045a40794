// SQL92 subscriptions on the broker: each expression is parsed once and kept in a bounded cache
// keyed by its text (every pull of a queue carries the same string), failures included, so a bad
// expression pulled in a loop costs a map lookup. The cache is per process: a parse depends on
// the text alone, so brokers sharing a process may share it.

import { FilterLimitError, FilterSyntaxError, parseSqlFilter, type FilterExpr } from '../../common/filter/index.js';

export const EXPRESSION_TYPE_TAG = 'TAG';
export const EXPRESSION_TYPE_SQL92 = 'SQL92';
/** Distinct expressions kept; the least recently used one goes first. */
export const SQL_FILTER_CACHE_ENTRIES = 1024;

type Compiled = FilterExpr | FilterSyntaxError | FilterLimitError;

export class SqlFilterCache {
  private readonly entries = new Map<string, Compiled>();

  constructor(private readonly maxEntries = SQL_FILTER_CACHE_ENTRIES) {}

  /** The parsed expression; throws FilterSyntaxError or FilterLimitError for a bad one. */
  compile(expression: string): FilterExpr {
    let compiled = this.entries.get(expression);
    if (compiled === undefined) {
      try {
        compiled = parseSqlFilter(expression);
      } catch (err) {
        if (!(err instanceof FilterSyntaxError) && !(err instanceof FilterLimitError)) throw err;
        compiled = err;
      }
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    } else {
      this.entries.delete(expression);
    }
    // Re-inserted on every use: Map order is insertion order, so the first key is the least recent.
    this.entries.set(expression, compiled);
    if (compiled instanceof FilterSyntaxError || compiled instanceof FilterLimitError) throw compiled;
    return compiled;
  }

  get size(): number {
    return this.entries.size;
  }
}

export const sharedSqlFilterCache = new SqlFilterCache();

export type SubscriptionCheck = { ok: true; filter: FilterExpr | undefined } | { ok: false; remark: string };

/**
 * Judges a subscription's expression type and text: TAG (or none) passes with no property filter;
 * SQL92 passes with its parsed filter when `enabled` and the text parses; anything else is refused
 * with a remark for SUBSCRIPTION_PARSE_FAILED (23).
 */
export function checkSubscription(enabled: boolean, expressionType: string | undefined, expression: string | undefined, cache = sharedSqlFilterCache): SubscriptionCheck {
  if (expressionType === undefined || expressionType === '' || expressionType === EXPRESSION_TYPE_TAG) return { ok: true, filter: undefined };
  if (expressionType !== EXPRESSION_TYPE_SQL92) return { ok: false, remark: `expression type ${expressionType} is not supported; use TAG or SQL92` };
  if (!enabled) return { ok: false, remark: 'this broker does not filter messages by SQL92; set enablePropertyFilter=true in broker.conf on every node of the group, or subscribe by tag' };
  if (expression === undefined) return { ok: false, remark: 'an SQL92 subscription needs its expression in the subscription field' };
  try {
    return { ok: true, filter: cache.compile(expression) };
  } catch (err) {
    if (err instanceof FilterSyntaxError || err instanceof FilterLimitError) return { ok: false, remark: err.message };
    throw err;
  }
}
