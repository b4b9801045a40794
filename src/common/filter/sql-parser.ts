// A recursive-descent parser for SQL92 filters with RocketMQ's precedence, loosest first:
// OR; AND; = <> != IS [NOT] NULL; > >= < <= [NOT] BETWEEN [NOT] IN; unary + - NOT; literals,
// properties and parentheses. NOT is unary and binds tighter than comparisons, so
// `NOT a = 1` means `(NOT a) = 1`: write `NOT (a = 1)`. RocketMQ's parse-time rules are kept:
// only numbers (or properties) may be ordered with < > BETWEEN, NULL cannot be compared with =,
// IN takes a property and string literals, BETWEEN's literal bounds must be in order, and the
// whole expression must give a boolean. Length and nesting are bounded (docs/broker.md).

import { FilterLimitError, FilterSyntaxError } from './filter-errors.js';
import { isBooleanNode, type CompareOp, type FilterExpr } from './sql-ast.js';
import { tokenize, type Token } from './sql-lexer.js';

/** Longest expression accepted, in characters (it travels in every pull request). */
export const MAX_FILTER_EXPRESSION_CHARS = 4096;
/** Deepest nesting of parentheses and unary operators accepted. */
export const MAX_FILTER_NESTING_DEPTH = 64;

export function parseSqlFilter(expression: string): FilterExpr {
  if (expression.length > MAX_FILTER_EXPRESSION_CHARS) {
    throw new FilterLimitError(`expression of ${expression.length} characters is longer than ${MAX_FILTER_EXPRESSION_CHARS}`);
  }
  return new Parser(expression).parseAll();
}

class Parser {
  private readonly tokens: Token[];
  private at = 0;
  private depth = 0;

  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  parseAll(): FilterExpr {
    if (this.peek().kind === 'eof') throw this.error('empty expression', this.peek());
    const e = this.orExpr();
    const rest = this.peek();
    if (rest.kind !== 'eof') throw this.error(`unexpected ${describe(rest)}`, rest);
    return this.asBoolean(e, this.tokens[0]!);
  }

  private orExpr(): FilterExpr {
    let left = this.andExpr();
    for (let t = this.peek(); this.isKeyword(t, 'OR'); t = this.peek()) {
      this.next();
      const right = this.andExpr();
      left = { kind: 'or', left: this.asBoolean(left, t), right: this.asBoolean(right, t) };
    }
    return left;
  }

  private andExpr(): FilterExpr {
    let left = this.equality();
    for (let t = this.peek(); this.isKeyword(t, 'AND'); t = this.peek()) {
      this.next();
      const right = this.equality();
      left = { kind: 'and', left: this.asBoolean(left, t), right: this.asBoolean(right, t) };
    }
    return left;
  }

  private equality(): FilterExpr {
    let left = this.comparison();
    for (;;) {
      const t = this.peek();
      if (t.kind === 'op' && (t.text === '=' || t.text === '<>' || t.text === '!=')) {
        this.next();
        const right = this.comparison();
        const eq = this.equal(left, right, t);
        left = t.text === '=' ? eq : { kind: 'not', operand: eq };
      } else if (this.isKeyword(t, 'IS')) {
        this.next();
        const negated = this.isKeyword(this.peek(), 'NOT');
        if (negated) this.next();
        this.expectKeyword('NULL');
        const isNull: FilterExpr = { kind: 'is-null', operand: left };
        left = negated ? { kind: 'not', operand: isNull } : isNull;
      } else {
        return left;
      }
    }
  }

  private comparison(): FilterExpr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.kind === 'op' && (t.text === '>' || t.text === '>=' || t.text === '<' || t.text === '<=')) {
        this.next();
        left = this.ordered(t.text, left, this.unary(), t);
        continue;
      }
      const negated = this.isKeyword(t, 'NOT') && (this.isKeyword(this.peek(1), 'BETWEEN') || this.isKeyword(this.peek(1), 'IN'));
      const op = negated ? this.peek(1) : t;
      if (this.isKeyword(op, 'BETWEEN')) {
        this.at += negated ? 2 : 1;
        const low = this.unary();
        this.expectKeyword('AND');
        const high = this.unary();
        left = this.between(left, low, high, negated, op);
      } else if (this.isKeyword(op, 'IN')) {
        this.at += negated ? 2 : 1;
        if (left.kind !== 'property') throw this.error('IN needs a property on its left', op);
        left = { kind: 'in', name: left.name, values: this.stringList(), negated };
      } else {
        return left;
      }
    }
  }

  private unary(): FilterExpr {
    const t = this.peek();
    if (t.kind === 'op' && (t.text === '+' || t.text === '-')) {
      this.next();
      const operand = this.nested(() => this.unary());
      return t.text === '+' ? operand : { kind: 'negate', operand };
    }
    if (this.isKeyword(t, 'NOT')) {
      this.next();
      const operand = this.nested(() => this.unary());
      return { kind: 'not', operand: this.asBoolean(operand, t) };
    }
    return this.primary();
  }

  private primary(): FilterExpr {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return { kind: 'literal', value: t.text };
      case 'long':
      case 'double':
        return { kind: 'literal', value: t.value! };
      case 'id':
        return { kind: 'property', name: t.text };
      case 'keyword':
        if (t.text === 'TRUE' || t.text === 'FALSE') return { kind: 'literal', value: t.text === 'TRUE' };
        if (t.text === 'NULL') return { kind: 'literal', value: null };
        break;
      case 'op':
        if (t.text === '(') {
          const e = this.nested(() => this.orExpr());
          const close = this.next();
          if (close.kind !== 'op' || close.text !== ')') throw this.error(`expected ')' but found ${describe(close)}`, close);
          return e;
        }
        break;
      default:
        break;
    }
    throw this.error(`expected a value, a property or '(' but found ${describe(t)}`, t);
  }

  private stringList(): ReadonlySet<string> {
    const open = this.next();
    if (open.kind !== 'op' || open.text !== '(') throw this.error(`expected '(' after IN but found ${describe(open)}`, open);
    const values = new Set<string>();
    for (;;) {
      const s = this.next();
      if (s.kind !== 'string') throw this.error(`IN takes string literals only, found ${describe(s)}`, s);
      values.add(s.text);
      const sep = this.next();
      if (sep.kind === 'op' && sep.text === ')') return values;
      if (sep.kind !== 'op' || sep.text !== ',') throw this.error(`expected ',' or ')' but found ${describe(sep)}`, sep);
    }
  }

  private equal(left: FilterExpr, right: FilterExpr, at: Token): FilterExpr {
    for (const side of [left, right]) {
      if (side.kind === 'literal' && side.value === null) throw this.error('NULL cannot be compared with = or <>; use IS NULL or IS NOT NULL', at);
    }
    if (left.kind === 'literal' && right.kind === 'literal' && typeof left.value === 'boolean' && typeof right.value !== 'boolean') {
      throw this.error(`${literalText(left.value)} cannot be compared with ${literalText(right.value)}`, at);
    }
    return { kind: 'compare', op: '=', left, right };
  }

  private ordered(op: CompareOp, left: FilterExpr, right: FilterExpr, at: Token): FilterExpr {
    for (const side of [left, right]) {
      const literalNonNumber = side.kind === 'literal' && typeof side.value !== 'bigint' && typeof side.value !== 'number';
      if (literalNonNumber || isBooleanNode(side)) throw this.error(`only numbers can be compared with ${at.text}, BETWEEN or NOT BETWEEN`, at);
    }
    return { kind: 'compare', op, left, right };
  }

  private between(value: FilterExpr, low: FilterExpr, high: FilterExpr, negated: boolean, at: Token): FilterExpr {
    const lowCheck = this.ordered('>=', value, low, at);
    const highCheck = this.ordered('<=', value, high, at);
    if (low.kind === 'literal' && high.kind === 'literal' && Number(low.value) > Number(high.value)) {
      throw this.error(`BETWEEN bounds are reversed: ${literalText(low.value)} is greater than ${literalText(high.value)}`, at);
    }
    if (negated) return { kind: 'or', left: { kind: 'compare', op: '<', left: value, right: low }, right: { kind: 'compare', op: '>', left: value, right: high } };
    return { kind: 'and', left: lowCheck, right: highCheck };
  }

  /** RocketMQ's asBooleanExpression: a bare property is cast, a number or string is refused. */
  private asBoolean(e: FilterExpr, at: Token): FilterExpr {
    if (isBooleanNode(e)) return e;
    if (e.kind === 'property') return { kind: 'bool-cast', operand: e };
    throw this.error('this operand does not give a boolean', at);
  }

  private nested<T>(parse: () => T): T {
    if (++this.depth > MAX_FILTER_NESTING_DEPTH) {
      throw new FilterLimitError(`nesting deeper than ${MAX_FILTER_NESTING_DEPTH} levels (parentheses and unary operators) at position ${this.peek().position}`);
    }
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.at + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.at++;
    return t;
  }

  private isKeyword(t: Token, word: string): boolean {
    return t.kind === 'keyword' && t.text === word;
  }

  private expectKeyword(word: string): void {
    const t = this.next();
    if (!this.isKeyword(t, word)) throw this.error(`expected ${word} but found ${describe(t)}`, t);
  }

  private error(what: string, at: Token): FilterSyntaxError {
    return new FilterSyntaxError(what, at.position, this.text);
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'the end of the expression';
    case 'string':
      return `string '${t.text}'`;
    case 'id':
      return `property ${t.text}`;
    default:
      return `'${t.text}'`;
  }
}

function literalText(v: unknown): string {
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'string') return `'${v}'`;
  return String(v);
}
