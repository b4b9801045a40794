// Evaluates a parsed SQL92 filter against a message's properties with RocketMQ's semantics:
// three-valued logic (a missing property makes a comparison unknown, and only TRUE matches),
// AND/OR that skip their right side once the left decides, and type conversion in comparisons:
// a property (always a string) compared with an integer literal must read as a 64-bit integer,
// with a decimal literal as a double; a property that does not is an evaluation fault, which,
// as in RocketMQ, makes the whole expression not match (it aborts, even under OR).

import type { CompareOp, FilterExpr, FilterValue } from './sql-ast.js';

/** Gives a property's value, or undefined when the message does not have it. */
export type PropertyLookup = (name: string) => string | undefined;

/** A comparison RocketMQ would throw on; caught once at the top. */
class EvaluationFault {
  constructor(readonly reason: string) {}
}

/** True when the message whose properties `lookup` reads matches the filter. */
export function matchesSqlFilter(expr: FilterExpr, lookup: PropertyLookup): boolean {
  try {
    return evaluate(expr, lookup) === true;
  } catch (err) {
    if (err instanceof EvaluationFault) return false;
    throw err;
  }
}

function evaluate(e: FilterExpr, lookup: PropertyLookup): FilterValue {
  switch (e.kind) {
    case 'literal':
      return e.value;
    case 'property':
      return lookup(e.name) ?? null;
    case 'negate': {
      const v = evaluate(e.operand, lookup);
      if (typeof v === 'bigint') return BigInt.asIntN(64, -v);
      if (typeof v === 'number') return -v;
      return null;
    }
    case 'not': {
      const v = evaluate(e.operand, lookup);
      return v === null ? null : !v;
    }
    case 'bool-cast': {
      const v = evaluate(e.operand, lookup);
      return v === null ? null : v === true;
    }
    case 'and': {
      const l = evaluate(e.left, lookup);
      if (l === false) return false;
      const r = evaluate(e.right, lookup);
      if (r === false) return false;
      return l === null || r === null ? null : true;
    }
    case 'or': {
      const l = evaluate(e.left, lookup);
      if (l === true) return true;
      const r = evaluate(e.right, lookup);
      if (r === true) return true;
      return l === null || r === null ? null : false;
    }
    case 'is-null':
      return evaluate(e.operand, lookup) === null;
    case 'in': {
      const v = lookup(e.name);
      if (v === undefined) return null;
      return e.values.has(v) !== e.negated;
    }
    case 'compare':
      return e.op === '=' ? evaluateEqual(e.left, e.right, lookup) : evaluateOrdered(e.op, e.left, e.right, lookup);
  }
}

function evaluateEqual(left: FilterExpr, right: FilterExpr, lookup: PropertyLookup): FilterValue {
  const l = evaluate(left, lookup);
  const r = evaluate(right, lookup);
  if (l === null || r === null) {
    // Both unknown reads as equal (IS NULL is built on it); only a missing left is unknown.
    if (l === null && r === null) return true;
    return l === null ? null : false;
  }
  if (typeof l === typeof r && (typeof l === 'number' ? Object.is(l, r) : l === r)) return true;
  return compareValues(l, r) === 0;
}

function evaluateOrdered(op: CompareOp, left: FilterExpr, right: FilterExpr, lookup: PropertyLookup): FilterValue {
  const l = evaluate(left, lookup);
  if (l === null) return null;
  const r = evaluate(right, lookup);
  if (r === null) return null;
  // Two strings (two properties) are ordered as doubles, or not at all.
  const c = typeof l === 'string' && typeof r === 'string' ? compareDoubles(javaDouble(l), javaDouble(r)) : compareValues(l, r);
  switch (op) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
    default:
      return c === 0;
  }
}

/** The sign of l - r after converting one side to the other's type; -1 when they cannot meet. */
function compareValues(l: Exclude<FilterValue, null>, r: Exclude<FilterValue, null>): number {
  if (typeof l === 'string') {
    if (typeof r === 'string') return l < r ? -1 : l > r ? 1 : 0;
    if (typeof r === 'boolean') return compareBooleans(l.toLowerCase() === 'true', r);
    if (typeof r === 'bigint') return compareLongs(javaLong(l), r);
    return compareDoubles(javaDouble(l), r);
  }
  if (typeof l === 'boolean') {
    if (typeof r === 'boolean') return compareBooleans(l, r);
    // RocketMQ fails on a boolean left and a string right (a cast error), and meets nothing else.
    if (typeof r === 'string') throw new EvaluationFault('a boolean cannot be compared with a string');
    return -1;
  }
  if (typeof r === 'boolean') return -1;
  if (typeof l === 'bigint') {
    if (typeof r === 'bigint') return compareLongs(l, r);
    if (typeof r === 'number') return compareDoubles(Number(l), r);
    return compareLongs(l, javaLong(r));
  }
  if (typeof r === 'string') return compareDoubles(l, javaDouble(r));
  return compareDoubles(l, Number(r));
}

function compareLongs(l: bigint, r: bigint): number {
  return l < r ? -1 : l > r ? 1 : 0;
}

function compareBooleans(l: boolean, r: boolean): number {
  return l === r ? 0 : l ? 1 : -1;
}

/** Java's Double.compare: NaN equals itself and is above everything; -0.0 is below 0.0. */
function compareDoubles(l: number, r: number): number {
  if (l < r) return -1;
  if (l > r) return 1;
  if (Object.is(l, r)) return 0;
  if (Number.isNaN(l)) return Number.isNaN(r) ? 0 : 1;
  if (Number.isNaN(r)) return -1;
  return Object.is(l, -0) ? -1 : 1;
}

const LONG_TEXT = /^[+-]?\d+$/;
const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;

/** Java's Long.valueOf: decimal digits with an optional sign, in the 64-bit range. */
function javaLong(s: string): bigint {
  if (!LONG_TEXT.test(s)) throw new EvaluationFault(`'${s}' is not an integer`);
  const v = BigInt(s);
  if (v < LONG_MIN || v > LONG_MAX) throw new EvaluationFault(`'${s}' is out of the 64-bit range`);
  return v;
}

const DOUBLE_TEXT = /^[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)$/;

/** Java's Double.valueOf for decimal text: surrounding control characters and spaces are ignored. */
function javaDouble(s: string): number {
  const t = s.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '');
  if (!DOUBLE_TEXT.test(t)) throw new EvaluationFault(`'${s}' is not a number`);
  return Number(t.replace(/[fFdD]$/, ''));
}
