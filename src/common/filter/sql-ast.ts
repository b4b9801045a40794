// The tree a parsed SQL92 filter becomes. BETWEEN, NOT BETWEEN, <>, != and IS NOT NULL are
// rewritten into these nodes at parse time, as RocketMQ's parser does, so the evaluator has few
// cases. Values: strings, 64-bit integers (bigint), doubles (number), booleans, and null for
// "unknown" (a missing property, or SQL's NULL).

export type FilterValue = string | bigint | number | boolean | null;

export type FilterExpr =
  | { kind: 'literal'; value: FilterValue }
  | { kind: 'property'; name: string }
  /** Unary minus: a number negated; anything else is unknown. */
  | { kind: 'negate'; operand: FilterExpr }
  | { kind: 'not'; operand: FilterExpr }
  /** A bare property where a boolean is needed: unknown when missing, false otherwise (values are strings). */
  | { kind: 'bool-cast'; operand: FilterExpr }
  | { kind: 'and' | 'or'; left: FilterExpr; right: FilterExpr }
  | { kind: 'compare'; op: CompareOp; left: FilterExpr; right: FilterExpr }
  | { kind: 'is-null'; operand: FilterExpr }
  | { kind: 'in'; name: string; values: ReadonlySet<string>; negated: boolean };

export type CompareOp = '=' | '<' | '<=' | '>' | '>=';

/** Nodes RocketMQ treats as boolean expressions (TRUE, FALSE and NULL literals included). */
export function isBooleanNode(e: FilterExpr): boolean {
  switch (e.kind) {
    case 'literal':
      return e.value === null || typeof e.value === 'boolean';
    case 'property':
    case 'negate':
      return false;
    default:
      return true;
  }
}
