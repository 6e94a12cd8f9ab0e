// The PromQL tree the evaluator walks. Built from the official lezer grammar's syntax tree by
// parser.ts, with types checked the way Prometheus checks them. Durations are in milliseconds.
import type { LabelMatcher } from '../label-matcher.ts';

export type Expr =
  | NumberLiteral | StringLiteral | VectorSelector | MatrixSelector | Subquery
  | Call | Aggregation | Binary | Unary | Paren;

export interface NumberLiteral { kind: 'number'; value: number }
export interface StringLiteral { kind: 'string'; value: string }

/** `@ <time>`, `@ start()` or `@ end()`; times in ms. */
export type AtModifier = { kind: 'time'; ms: number } | { kind: 'start' } | { kind: 'end' };

export interface VectorSelector {
  kind: 'vector';
  /** The metric name if given (also present as a `__name__` matcher). */
  name: string | undefined;
  matchers: LabelMatcher[];
  offsetMs: number;
  at: AtModifier | undefined;
}
export interface MatrixSelector { kind: 'matrix'; selector: VectorSelector; rangeMs: number }
export interface Subquery {
  kind: 'subquery'; expr: Expr; rangeMs: number;
  /** 0 = the engine's default evaluation interval. */
  stepMs: number;
  offsetMs: number; at: AtModifier | undefined;
}
export interface Call { kind: 'call'; func: string; args: Expr[] }

export type AggregationOp =
  | 'sum' | 'avg' | 'min' | 'max' | 'count' | 'group' | 'stddev' | 'stdvar'
  | 'topk' | 'bottomk' | 'quantile' | 'count_values' | 'limitk' | 'limit_ratio';
export interface Aggregation {
  kind: 'aggregation'; op: AggregationOp;
  /** k of topk/bottomk/limitk, φ of quantile, the ratio of limit_ratio, the label name of count_values. */
  param: Expr | undefined;
  expr: Expr; grouping: string[]; without: boolean;
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

export interface VectorMatching {
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** true: match on `labels`; false: ignoring `labels`. */
  on: boolean;
  labels: string[];
  /** Extra labels copied from the "one" side by group_left/group_right. */
  include: string[];
}
export interface Binary {
  kind: 'binary'; op: BinaryOp; lhs: Expr; rhs: Expr;
  returnBool: boolean;
  /** Set when both sides are instant vectors. */
  matching: VectorMatching | undefined;
}
export interface Unary { kind: 'unary'; op: '-' | '+'; expr: Expr }
export interface Paren { kind: 'paren'; expr: Expr }

/** What an expression evaluates to, named as Prometheus names result types. */
export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export const comparisonOps: ReadonlySet<string> = new Set(['==', '!=', '>', '<', '>=', '<=']);
export const setOps: ReadonlySet<string> = new Set(['and', 'or', 'unless']);

export function typeOf(e: Expr): ValueType {
  switch (e.kind) {
    case 'number': return 'scalar';
    case 'string': return 'string';
    case 'vector': return 'vector';
    case 'matrix': case 'subquery': return 'matrix';
    case 'call': return functionSignatures[e.func]?.returns ?? 'vector';
    case 'aggregation': return 'vector';
    case 'unary': case 'paren': return typeOf(e.expr);
    case 'binary': return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
  }
}

export interface FunctionSignature {
  args: ValueType[];
  /** How many trailing arguments may be left out. */
  optional?: number;
  /** The last argument type repeats (label_join's source labels). */
  variadic?: boolean;
  returns: ValueType;
}

const v = 'vector', m = 'matrix', s = 'scalar', str = 'string';
const vec1: FunctionSignature = { args: [v], returns: v };
const over: FunctionSignature = { args: [m], returns: v };
const timeFn: FunctionSignature = { args: [v], optional: 1, returns: v };

/**
 * The functions we evaluate, with Prometheus' argument types. increase_pure is our extension;
 * holt_winters is Prometheus 2's name for double_exponential_smoothing (Prometheus 3).
 */
export const functionSignatures: Record<string, FunctionSignature> = {
  abs: vec1, ceil: vec1, floor: vec1, exp: vec1, sqrt: vec1, ln: vec1, log2: vec1, log10: vec1, sgn: vec1,
  acos: vec1, acosh: vec1, asin: vec1, asinh: vec1, atan: vec1, atanh: vec1, cos: vec1, cosh: vec1,
  sin: vec1, sinh: vec1, tan: vec1, tanh: vec1, deg: vec1, rad: vec1,
  pi: { args: [], returns: s },
  round: { args: [v, s], optional: 1, returns: v },
  clamp: { args: [v, s, s], returns: v },
  clamp_min: { args: [v, s], returns: v },
  clamp_max: { args: [v, s], returns: v },
  rate: over, irate: over, increase: over, delta: over, idelta: over, deriv: over,
  changes: over, resets: over, increase_pure: over,
  predict_linear: { args: [m, s], returns: v },
  holt_winters: { args: [m, s, s], returns: v },
  double_exponential_smoothing: { args: [m, s, s], returns: v },
  avg_over_time: over, min_over_time: over, max_over_time: over, sum_over_time: over,
  count_over_time: over, last_over_time: over, stddev_over_time: over, stdvar_over_time: over,
  present_over_time: over, absent_over_time: over,
  quantile_over_time: { args: [s, m], returns: v },
  // Prometheus 3's experimental functions (--enable-feature=promql-experimental-functions there)
  first_over_time: over, mad_over_time: over,
  ts_of_first_over_time: over, ts_of_last_over_time: over, ts_of_max_over_time: over, ts_of_min_over_time: over,
  histogram_quantile: { args: [s, v], returns: v },
  label_replace: { args: [v, str, str, str, str], returns: v },
  // Source labels may be none at all (the destination label is then removed), as in Prometheus.
  label_join: { args: [v, str, str, str], optional: 1, variadic: true, returns: v },
  absent: vec1,
  scalar: { args: [v], returns: s },
  vector: { args: [s], returns: v },
  time: { args: [], returns: s },
  timestamp: vec1,
  sort: vec1, sort_desc: vec1,
  // Zero or more label names after the vector.
  sort_by_label: { args: [v, str], optional: 1, variadic: true, returns: v },
  sort_by_label_desc: { args: [v, str], optional: 1, variadic: true, returns: v },
  minute: timeFn, hour: timeFn, day_of_week: timeFn, day_of_month: timeFn, day_of_year: timeFn,
  days_in_month: timeFn, month: timeFn, year: timeFn,
};
