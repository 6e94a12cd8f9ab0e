// The PromQL subset we understand, as a tree. Durations are in milliseconds.
import type { LabelMatcher } from '../label-matcher.ts';

export type Expr = NumberLiteral | VectorSelector | MatrixSelector | Call | Aggregation | Binary | Paren;

export interface NumberLiteral { kind: 'number'; value: number }
export interface VectorSelector { kind: 'vector'; matchers: LabelMatcher[] }
export interface MatrixSelector { kind: 'matrix'; selector: VectorSelector; rangeMs: number }
export interface Call { kind: 'call'; func: FunctionName; arg: Expr }
export interface Aggregation { kind: 'aggregation'; op: 'sum'; grouping: string[]; without: boolean; expr: Expr }
export type BinaryOp = '+' | '-' | '*' | '/';
export interface Binary { kind: 'binary'; op: BinaryOp; lhs: Expr; rhs: Expr }
export interface Paren { kind: 'paren'; expr: Expr }

/** increase_pure is MetricsQL's (VictoriaMetrics): an exact increase that counts a new series from 0. */
export type FunctionName = 'rate' | 'increase' | 'increase_pure';
export const functionNames: readonly FunctionName[] = ['rate', 'increase', 'increase_pure'];

/** What an expression evaluates to, named as Prometheus names result types. */
export type ValueType = 'scalar' | 'vector' | 'matrix';

export function typeOf(e: Expr): ValueType {
  switch (e.kind) {
    case 'number': return 'scalar';
    case 'vector': return 'vector';
    case 'matrix': return 'matrix';
    case 'call': case 'aggregation': return 'vector';
    case 'paren': return typeOf(e.expr);
    case 'binary': return typeOf(e.lhs) === 'scalar' && typeOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
  }
}
