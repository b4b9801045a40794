// Tokens of the SQL92 filter language (RocketMQ's message selector): keywords are
// case-insensitive, property names are case-sensitive, strings use single quotes with '' for a
// quote, and `--` line and `/* */` block comments are skipped.

import { FilterSyntaxError } from './filter-errors.js';

export type TokenKind = 'keyword' | 'id' | 'string' | 'long' | 'double' | 'op' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Keyword (upper case), operator, property name or decoded string, as the kind says. */
  text: string;
  /** Value of a numeric literal. */
  value?: bigint | number;
  position: number;
}

export const KEYWORDS: ReadonlySet<string> = new Set(['NOT', 'AND', 'OR', 'BETWEEN', 'IN', 'TRUE', 'FALSE', 'NULL', 'IS']);

const LONG_MAX = (1n << 63n) - 1n;
const WHITESPACE = /[ \t\n\r\f]+/y;
// A line comment needs its line break, as in RocketMQ: without one, `--1` is two minus signs.
const LINE_COMMENT = /--[^\n\r]*(?:\r\n|\n|\r)/y;
const BLOCK_COMMENT = /\/\*[\s\S]*?\*\//y;
const DOUBLE = /(?:\d+\.\d*(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?|\d+e[+-]?\d+)/iy;
const LONG = /(?:0|[1-9]\d*)l?/iy;
const STRING = /'(?:''|[^'])*'/y;
const IDENT = /[a-z_$][a-z0-9_$]*/iy;
const OPERATORS = ['>=', '<=', '<>', '!=', '>', '<', '=', '(', ')', ',', '+', '-'];

function matchAt(re: RegExp, text: string, at: number): string | undefined {
  re.lastIndex = at;
  const m = re.exec(text);
  return m === null ? undefined : m[0];
}

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let at = 0;
  // Bounded by the text length: every turn consumes at least one character or throws.
  while (at < text.length) {
    const skip = matchAt(WHITESPACE, text, at) ?? matchAt(LINE_COMMENT, text, at) ?? matchAt(BLOCK_COMMENT, text, at);
    if (skip !== undefined) {
      at += skip.length;
      continue;
    }
    if (text.startsWith('/*', at)) throw new FilterSyntaxError('unterminated comment', at, text);
    const double = matchAt(DOUBLE, text, at);
    if (double !== undefined) {
      const value = Number(double);
      if (!Number.isFinite(value)) throw new FilterSyntaxError(`number ${double} is out of the double range`, at, text);
      out.push({ kind: 'double', text: double, value, position: at });
      at += double.length;
      continue;
    }
    const long = matchAt(LONG, text, at);
    if (long !== undefined) {
      const digits = /l$/i.test(long) ? long.slice(0, -1) : long;
      const value = BigInt(digits);
      if (value > LONG_MAX) throw new FilterSyntaxError(`number ${digits} is out of the 64-bit integer range`, at, text);
      out.push({ kind: 'long', text: long, value, position: at });
      at += long.length;
      continue;
    }
    if (text[at] === "'") {
      const s = matchAt(STRING, text, at);
      if (s === undefined) throw new FilterSyntaxError('unterminated string literal', at, text);
      out.push({ kind: 'string', text: s.slice(1, -1).replaceAll("''", "'"), position: at });
      at += s.length;
      continue;
    }
    const id = matchAt(IDENT, text, at);
    if (id !== undefined) {
      const upper = id.toUpperCase();
      out.push(KEYWORDS.has(upper) ? { kind: 'keyword', text: upper, position: at } : { kind: 'id', text: id, position: at });
      at += id.length;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, at));
    if (op === undefined) throw new FilterSyntaxError(`unexpected character '${text[at]}'`, at, text);
    out.push({ kind: 'op', text: op, position: at });
    at += op.length;
  }
  out.push({ kind: 'eof', text: '', position: text.length });
  return out;
}
