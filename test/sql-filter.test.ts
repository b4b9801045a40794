// SQL92 property filters: the parser's precedence, its errors (typed, with the position) and
// bounds; RocketMQ's evaluation semantics on examples; and a property test in which the broker's
// evaluation of a rendered expression over an encoded record equals a reference evaluation of the
// generated tree, written here independently of the parser and evaluator.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FilterLimitError,
  FilterSyntaxError,
  MAX_FILTER_EXPRESSION_CHARS,
  MAX_FILTER_NESTING_DEPTH,
  matchesSqlFilter,
  parseSqlFilter,
} from '../src/common/filter/index.js';
import { checkSubscription, SqlFilterCache } from '../src/broker/filter/sql-filter-cache.js';
import { recordMatches } from '../src/broker/filter/sql-filtered-read.js';
import { encodeMessageRecord, formatProperties } from '../src/common/message/index.js';

function matches(expression: string, props: Record<string, string>): boolean {
  return matchesSqlFilter(parseSqlFilter(expression), (name) => props[name]);
}

function syntaxError(expression: string): FilterSyntaxError {
  try {
    parseSqlFilter(expression);
  } catch (err) {
    if (err instanceof FilterSyntaxError) return err;
    throw err;
  }
  throw new Error(`expected a syntax error for ${expression}`);
}

describe('SQL92 filter parser', () => {
  it('reports the position of a syntax error and names what it expected', () => {
    const cases: [string, number, RegExp][] = [
      ['a >', 3, /expected a value/],
      ['a > 1 AND', 9, /end of the expression/],
      ['(a = 1', 6, /expected '\)'/],
      ['a = 1)', 5, /unexpected '\)'/],
      ["a = 'open", 4, /unterminated string/],
      ['a # 1', 2, /unexpected character '#'/],
      ["a > 'x'", 2, /only numbers can be compared/],
      ['a = NULL', 2, /use IS NULL/],
      ["a IN (1, 2)", 6, /string literals only/],
      ["5 IN ('a')", 2, /IN needs a property/],
      ['a BETWEEN 5 AND 1', 2, /reversed/],
      ["'text'", 0, /does not give a boolean/],
      ['a + 1 = 2', 2, /unexpected '\+'/],
      ['', 0, /empty expression/],
      ['a = 99999999999999999999', 4, /64-bit integer range/],
    ];
    for (const [expression, position, what] of cases) {
      const err = syntaxError(expression);
      expect(err.code, expression).toBe('ERR_FILTER_SYNTAX');
      expect(err.responseCode, expression).toBe(23);
      expect(err.position, expression).toBe(position);
      expect(err.message, expression).toMatch(what);
      expect(err.message, expression).toContain(`position ${position}`);
    }
  });

  it('bounds the expression length and the nesting depth with a typed error', () => {
    const long = `a = '${'x'.repeat(MAX_FILTER_EXPRESSION_CHARS)}'`;
    expect(() => parseSqlFilter(long)).toThrow(FilterLimitError);
    const nested = (depth: number): string => `${'('.repeat(depth)}a = 1${')'.repeat(depth)}`;
    expect(matches(nested(MAX_FILTER_NESTING_DEPTH), { a: '1' })).toBe(true);
    expect(() => parseSqlFilter(nested(MAX_FILTER_NESTING_DEPTH + 1))).toThrow(FilterLimitError);
    expect(() => parseSqlFilter(`${'NOT '.repeat(MAX_FILTER_NESTING_DEPTH + 1)}TRUE`)).toThrow(/nesting deeper/);
    try {
      parseSqlFilter(long);
    } catch (err) {
      expect((err as FilterLimitError).code).toBe('ERR_FILTER_LIMIT');
    }
  });

  it('binds AND tighter than OR and NOT tighter than comparisons, as RocketMQ does', () => {
    // a = 1 OR (b = 2 AND c = 3)
    expect(matches('a = 1 OR b = 2 AND c = 3', { a: '1', b: '0', c: '0' })).toBe(true);
    expect(matches('(a = 1 OR b = 2) AND c = 3', { a: '1', b: '0', c: '0' })).toBe(false);
    // NOT a = 'x' is (NOT a) = 'x' (a boolean compared with a string): never a match.
    expect(matches("NOT a = 'y'", { a: 'x' })).toBe(false);
    expect(matches("NOT (a = 'y')", { a: 'x' })).toBe(true);
  });

  it('reads keywords in any case, quotes doubled inside strings, comments, long and double literals', () => {
    expect(matches("a in ('it''s') and b between 1L and 2.5e0 -- done\n", { a: "it's", b: '2' })).toBe(true);
    expect(matches('/* c */ b IS not NULL AnD TRUE', { b: '1' })).toBe(true);
    expect(matches('b > .5', { b: '0.75' })).toBe(true);
    expect(matches('b = -3', { b: '-3' })).toBe(true);
    // Without a line break `--` is not a comment but two minus signs.
    expect(matches('b > --2', { b: '3' })).toBe(true);
  });
});

describe('SQL92 filter semantics', () => {
  it('does not match when a compared property is missing, even under NOT', () => {
    expect(matches('a > 1', {})).toBe(false);
    expect(matches('NOT (a > 1)', {})).toBe(false);
    expect(matches("a <> 'x'", {})).toBe(false);
    expect(matches("a NOT IN ('x')", {})).toBe(false);
    expect(matches('a IS NULL', {})).toBe(true);
    expect(matches('a IS NULL OR a > 1', {})).toBe(true);
  });

  it('gives false, not unknown, for a literal on the left of = when the property is missing (RocketMQ\'s asymmetry)', () => {
    expect(matches("'x' = a", {})).toBe(false);
    expect(matches("'x' <> a", {})).toBe(true);
    expect(matches("a <> 'x'", {})).toBe(false);
  });

  it('compares a property with an integer literal as a 64-bit integer and with a decimal literal as a double', () => {
    expect(matches('a = 9007199254740993', { a: '9007199254740993' })).toBe(true);
    expect(matches('a > 9007199254740992', { a: '9007199254740993' })).toBe(true);
    // '3.5' is not an integer: compared with 3 the evaluation fails and nothing matches.
    expect(matches('a > 3', { a: '3.5' })).toBe(false);
    expect(matches('a > 3.0', { a: '3.5' })).toBe(true);
    expect(matches('a = 5', { a: '5' })).toBe(true);
    expect(matches("a = '5'", { a: '5' })).toBe(true);
  });

  it('never matches a non-numeric property compared with a number, and that aborts the whole expression', () => {
    expect(matches('a = 1', { a: 'abc' })).toBe(false);
    expect(matches('a <> 1', { a: 'abc' })).toBe(false);
    expect(matches("a = 1 OR b = 'x'", { a: 'abc', b: 'x' })).toBe(false);
    // The left side decides first: the failing comparison is never evaluated.
    expect(matches("b = 'x' OR a = 1", { a: 'abc', b: 'x' })).toBe(true);
  });

  it('matches TAGS like any property and reads TRUE/FALSE properties', () => {
    expect(matches("TAGS IN ('TagA', 'TagB') AND flag = TRUE", { TAGS: 'TagB', flag: 'true' })).toBe(true);
    expect(matches('flag = FALSE', { flag: 'no' })).toBe(true);
    expect(matches('TRUE', {})).toBe(true);
    expect(matches('FALSE OR a IS NOT NULL', { a: '' })).toBe(true);
  });
});

describe('broker SQL92 subscriptions', () => {
  it('refuses SQL92 with a remark naming broker.conf when the property filter is off, and unknown types', () => {
    const off = checkSubscription(false, 'SQL92', 'a > 1');
    expect(off.ok).toBe(false);
    expect(!off.ok && off.remark).toMatch(/enablePropertyFilter=true/);
    const bad = checkSubscription(true, 'SQL92', 'a >');
    expect(!bad.ok && bad.remark).toMatch(/position 3/);
    expect(checkSubscription(true, 'CLASS', 'x').ok).toBe(false);
    expect(checkSubscription(false, 'TAG', 'A || B')).toEqual({ ok: true, filter: undefined });
    expect(checkSubscription(false, undefined, undefined)).toEqual({ ok: true, filter: undefined });
  });

  it('keeps at most its bound of parsed expressions, failures included', () => {
    const cache = new SqlFilterCache(4);
    for (let i = 0; i < 10; i++) cache.compile(`a = ${i}`);
    expect(cache.size).toBe(4);
    expect(() => cache.compile('a >')).toThrow(FilterSyntaxError);
    expect(() => cache.compile('a >')).toThrow(FilterSyntaxError);
    expect(cache.size).toBe(4);
    expect(cache.compile('a = 9')).toBe(cache.compile('a = 9'));
  });
});

// ---- the reference: generated trees, rendered as text and evaluated directly ----

type Ref =
  | { t: 'cmp'; prop: string; op: '=' | '<>' | '<' | '<=' | '>' | '>='; lit: RefLit; flipped: boolean }
  | { t: 'between'; prop: string; lo: number; hi: number; not: boolean }
  | { t: 'in'; prop: string; list: string[]; not: boolean }
  | { t: 'null'; prop: string; not: boolean }
  | { t: 'bare'; prop: string }
  | { t: 'const'; v: boolean }
  | { t: 'not'; e: Ref }
  | { t: 'and' | 'or'; l: Ref; r: Ref };
type RefLit = { k: 'int'; v: number } | { k: 'dbl'; v: number } | { k: 'str'; v: string };

const PROPS = ['a', 'b', 'c', 'TAGS'];
const STRINGS = ['x', 'y', "it's", 'TagA', '5', ''];
const VALUES = ['0', '5', '-3', '12', '2.5', '-0.5', 'x', 'y', 'TagA', "it's", '', '1e2', '+7'];

const litArb: fc.Arbitrary<RefLit> = fc.oneof(
  fc.integer({ min: -20, max: 20 }).map((v) => ({ k: 'int' as const, v })),
  fc.integer({ min: -40, max: 40 }).map((v) => ({ k: 'dbl' as const, v: v / 4 })),
  fc.constantFrom(...STRINGS).map((v) => ({ k: 'str' as const, v })),
);
const propArb = fc.constantFrom(...PROPS);

const leafArb: fc.Arbitrary<Ref> = fc.oneof(
  fc.record({ prop: propArb, op: fc.constantFrom('=', '<>', '<', '<=', '>', '>=' as const), lit: litArb, flipped: fc.boolean() })
    // Strings may only be compared with = and <> (a parse error otherwise).
    .filter((c) => c.lit.k !== 'str' || c.op === '=' || c.op === '<>')
    .map((c) => ({ t: 'cmp' as const, ...c })),
  fc.record({ prop: propArb, a: fc.integer({ min: -10, max: 10 }), b: fc.integer({ min: -10, max: 10 }), not: fc.boolean() })
    .map(({ prop, a, b, not }) => ({ t: 'between' as const, prop, lo: Math.min(a, b), hi: Math.max(a, b), not })),
  fc.record({ prop: propArb, list: fc.array(fc.constantFrom(...STRINGS), { minLength: 1, maxLength: 4 }), not: fc.boolean() }).map((c) => ({ t: 'in' as const, ...c })),
  fc.record({ prop: propArb, not: fc.boolean() }).map((c) => ({ t: 'null' as const, ...c })),
  propArb.map((prop) => ({ t: 'bare' as const, prop })),
  fc.boolean().map((v) => ({ t: 'const' as const, v })),
);

const treeArb: fc.Arbitrary<Ref> = fc.letrec<{ e: Ref }>((tie) => ({
  e: fc.oneof(
    { maxDepth: 4, depthSize: 'small', withCrossShrink: true },
    leafArb,
    tie('e').map((e) => ({ t: 'not' as const, e })),
    fc.record({ l: tie('e'), r: tie('e') }).map((c) => ({ t: 'and' as const, ...c })),
    fc.record({ l: tie('e'), r: tie('e') }).map((c) => ({ t: 'or' as const, ...c })),
  ),
})).e;

const messageArb = fc.dictionary(propArb, fc.constantFrom(...VALUES), { maxKeys: 4 });

function litText(l: RefLit): string {
  if (l.k === 'str') return `'${l.v.replaceAll("'", "''")}'`;
  if (l.k === 'int') return l.v < 0 ? `-${-l.v}` : String(l.v);
  const text = Math.abs(l.v).toFixed(2);
  return l.v < 0 || Object.is(l.v, -0) ? `-${text}` : text;
}

/** Renders with the fewest parentheses the precedence allows, so the parser's precedence is exercised. */
function render(e: Ref, kw: (w: string) => string): string {
  const paren = (x: Ref, need: boolean): string => (need ? `(${render(x, kw)})` : render(x, kw));
  switch (e.t) {
    case 'cmp': {
      const flip: Record<string, string> = { '=': '=', '<>': '<>', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
      return e.flipped ? `${litText(e.lit)} ${flip[e.op]} ${e.prop}` : `${e.prop} ${e.op} ${litText(e.lit)}`;
    }
    case 'between':
      return `${e.prop} ${e.not ? `${kw('NOT')} ` : ''}${kw('BETWEEN')} ${e.lo} ${kw('AND')} ${e.hi}`;
    case 'in':
      return `${e.prop} ${e.not ? `${kw('NOT')} ` : ''}${kw('IN')} (${e.list.map((s) => litText({ k: 'str', v: s })).join(', ')})`;
    case 'null':
      return `${e.prop} ${kw('IS')} ${e.not ? `${kw('NOT')} ` : ''}${kw('NULL')}`;
    case 'bare':
      return e.prop;
    case 'const':
      return kw(e.v ? 'TRUE' : 'FALSE');
    case 'not':
      return `${kw('NOT')} ${paren(e.e, e.e.t !== 'bare' && e.e.t !== 'const')}`;
    case 'and':
      return `${paren(e.l, e.l.t === 'or')} ${kw('AND')} ${paren(e.r, e.r.t === 'or' || e.r.t === 'and')}`;
    case 'or':
      return `${render(e.l, kw)} ${kw('OR')} ${paren(e.r, e.r.t === 'or')}`;
  }
}

/** Thrown where RocketMQ's evaluation throws (a number expected, a non-number found). */
const FAULT = Symbol('fault');
type Tri = 'T' | 'F' | 'U';
const tri = (b: boolean): Tri => (b ? 'T' : 'F');

function asInt(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw FAULT;
  return parseInt(s, 10);
}

function asDouble(s: string): number {
  const v = s.trim();
  if (!/^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(v)) throw FAULT;
  return parseFloat(v);
}

function order(op: string, x: number, y: number): boolean {
  return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : op === '>=' ? x >= y : op === '=' ? x === y : x !== y;
}

function refEval(e: Ref, m: Record<string, string>): Tri {
  switch (e.t) {
    case 'cmp': {
      const v = m[e.prop];
      // RocketMQ's = is unknown only for a missing left side: a literal = a missing property is false.
      if (v === undefined) return e.flipped && (e.op === '=' || e.op === '<>') ? tri(e.op === '<>') : 'U';
      if (e.lit.k === 'str') return tri((v === e.lit.v) === (e.op === '='));
      const n = e.lit.k === 'int' ? asInt(v) : asDouble(v);
      // The tree means `prop op literal` whichever side the text puts the literal on.
      return tri(order(e.op, n, e.lit.v));
    }
    case 'between': {
      const v = m[e.prop];
      if (v === undefined) return 'U';
      const n = asInt(v);
      return tri((n >= e.lo && n <= e.hi) !== e.not);
    }
    case 'in': {
      const v = m[e.prop];
      if (v === undefined) return 'U';
      return tri(e.list.includes(v) !== e.not);
    }
    case 'null':
      return tri((m[e.prop] === undefined) !== e.not);
    case 'bare':
      return m[e.prop] === undefined ? 'U' : 'F';
    case 'const':
      return tri(e.v);
    case 'not': {
      const v = refEval(e.e, m);
      return v === 'U' ? 'U' : v === 'T' ? 'F' : 'T';
    }
    case 'and': {
      const l = refEval(e.l, m);
      if (l === 'F') return 'F';
      const r = refEval(e.r, m);
      if (r === 'F') return 'F';
      return l === 'U' || r === 'U' ? 'U' : 'T';
    }
    case 'or': {
      const l = refEval(e.l, m);
      if (l === 'T') return 'T';
      const r = refEval(e.r, m);
      if (r === 'T') return 'T';
      return l === 'U' || r === 'U' ? 'U' : 'F';
    }
  }
}

function refMatches(e: Ref, m: Record<string, string>): boolean {
  try {
    return refEval(e, m) === 'T';
  } catch (err) {
    if (err === FAULT) return false;
    throw err;
  }
}

function record(properties: Record<string, string>): Buffer {
  return encodeMessageRecord({
    topic: 'SqlT', queueId: 0, flag: 0, queueOffset: 0, physicalOffset: 0, sysFlag: 0,
    bornTimestamp: 1, bornHost: '127.0.0.1', bornPort: 1, storeTimestamp: 1, storeHost: '127.0.0.1', storePort: 1,
    reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.from('b'), properties: formatProperties(properties),
  });
}

describe('SQL92 filter against a reference evaluation', () => {
  it('the broker matches exactly the records the reference evaluation of the generated tree matches', () => {
    const cache = new SqlFilterCache();
    fc.assert(
      fc.property(treeArb, fc.array(messageArb, { minLength: 1, maxLength: 6 }), fc.boolean(), (tree, messages, lower) => {
        const text = render(tree, (w) => (lower ? w.toLowerCase() : w));
        const filter = cache.compile(text);
        for (const m of messages) expect(recordMatches(filter, record(m)), `${text} over ${JSON.stringify(m)}`).toBe(refMatches(tree, m));
      }),
      { numRuns: 1500 },
    );
  });
});
