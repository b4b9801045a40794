// SQL92 property filters (RocketMQ's expressionType=SQL92): parsed by the broker at subscribe and
// pull time and by the client SDK at subscribe(), to refuse a bad expression before it is sent.
export * from './filter-errors.js';
export type { FilterExpr, FilterValue, CompareOp } from './sql-ast.js';
export { parseSqlFilter, MAX_FILTER_EXPRESSION_CHARS, MAX_FILTER_NESTING_DEPTH } from './sql-parser.js';
export { matchesSqlFilter, type PropertyLookup } from './sql-evaluate.js';
