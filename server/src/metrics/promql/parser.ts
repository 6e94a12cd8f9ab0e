// Turns PromQL text into our Expr tree. The syntax is recognised by the official grammar
// (@prometheus-io/lezer-promql); this file walks its syntax tree by node names, unquotes literals,
// and applies the checks Prometheus' own parser makes (types, modifiers, matchers), so a query we
// accept is one Prometheus accepts and errors name the same problems.
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { matchesEmpty, type LabelMatcher, type MatchType } from '../label-matcher.ts';
import {
  comparisonOps, functionSignatures, setOps, typeOf,
  type AggregationOp, type AtModifier, type BinaryOp, type Expr, type ValueType, type VectorMatching, type VectorSelector,
} from './ast.ts';
import { parseDuration } from './duration.ts';

export class PromqlSyntaxError extends Error {
  constructor(message: string, readonly pos: number, src?: string) {
    super(`${position(src ?? '', pos)}: parse error: ${message}`);
    this.name = 'PromqlSyntaxError';
  }
}

/** Prometheus reports positions as line:column (1-based). */
function position(src: string, pos: number): string {
  const before = src.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - (before.lastIndexOf('\n') + 1) + 1;
  return `${line}:${col}`;
}

/**
 * Functions the official grammar does not know: our extensions, and holt_winters, which Prometheus
 * 2.x has but the grammar we use (from Prometheus 3, where it was renamed) no longer lists. Each is
 * renamed to a known function name of the same length before parsing (positions stay right) and
 * renamed back in the tree, where its own signature is checked.
 */
const extensionFunctions: Record<string, string> = { increase_pure: 'label_replace', holt_winters: 'day_of_month' };

export function parsePromql(src: string): Expr {
  const { text, renamed } = renameExtensions(src);
  const tree = parser.parse(text);
  let err: SyntaxNode | undefined;
  tree.iterate({ enter: (n) => { if (!err && n.type.isError) err = n.node; return !err; } });
  if (err) {
    const at = err.from;
    if (at >= src.trim().length + (src.length - src.trimStart().length) || at >= src.length) throw new PromqlSyntaxError('unexpected end of input', at, src);
    const tok = /^\s*([A-Za-z_:][\w:]*|\d[\w.]*|"[^"]*"?|'[^']*'?|\S)/.exec(src.slice(at))?.[1] ?? src.slice(at, at + 1);
    // An identifier called like a function that the grammar does not know.
    const called = /([A-Za-z_][\w]*)\s*$/.exec(src.slice(0, at))?.[1];
    if (called !== undefined && tok === '(') {
      const pos = at - src.slice(0, at).length + src.slice(0, at).lastIndexOf(called);
      throw new PromqlSyntaxError(`unknown function with name ${JSON.stringify(called)}`, pos, src);
    }
    throw new PromqlSyntaxError(`unexpected ${JSON.stringify(tok)}`, at, src);
  }
  const top = tree.topNode.firstChild;
  if (!top) throw new PromqlSyntaxError('no expression found in input', 0, src);
  return new TreeReader(text, src, renamed).expr(top);
}

function renameExtensions(src: string): { text: string; renamed: Map<number, string> } {
  const renamed = new Map<number, string>();
  let text = src;
  // Skip string literals and comments; only a bare identifier followed by "(" is a call.
  const re = /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`|#[^\n]*|([A-Za-z_:][\w:]*)(?=\s*\()/g;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    const name = m[1];
    const alias = name !== undefined ? extensionFunctions[name] : undefined;
    if (alias === undefined) continue;
    renamed.set(m.index, name!);
    text = text.slice(0, m.index) + alias + text.slice(m.index + alias.length);
  }
  return { text, renamed };
}

const typeNames: Record<ValueType, string> = { scalar: 'scalar', vector: 'instant vector', matrix: 'range vector', string: 'string' };

const binaryOpNames: Record<string, BinaryOp> = {
  Add: '+', Sub: '-', Mul: '*', Div: '/', Mod: '%', Pow: '^', Atan2: 'atan2',
  Eql: '==', Neq: '!=', Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=', And: 'and', Or: 'or', Unless: 'unless',
};
const supportedAggregations = new Set<string>(['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);
const paramAggregations = new Set<string>(['topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);

function children(n: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

class TreeReader {
  constructor(private readonly text: string, private readonly src: string, private readonly renamed: Map<number, string>) {}

  private fail(msg: string, n: SyntaxNode | number): never {
    throw new PromqlSyntaxError(msg, typeof n === 'number' ? n : n.from, this.src);
  }
  private textOf(n: SyntaxNode): string { return this.text.slice(n.from, n.to); }

  /**
   * The official grammar lets `[range]`, `[range:step]`, `offset` and `@` apply to a whole binary
   * or unary expression on their left; Prometheus binds them to the nearest operand. Push them down
   * to the rightmost operand so `a > b offset 5m` means `a > (b offset 5m)`.
   */
  private postfix(n: SyntaxNode, apply: (e: Expr) => Expr): Expr {
    const c = children(n);
    if (n.name === 'BinaryExpr') return this.binary(n, c, apply);
    if (n.name === 'UnaryExpr') return this.unary(n, c, apply);
    if (n.name === 'MatrixSelector' || n.name === 'SubqueryExpr' || n.name === 'OffsetExpr' || n.name === 'StepInvariantExpr') {
      return this.postfix(c[0]!, (inner) => apply(this.applyPostfix(n, c, inner)));
    }
    return apply(this.expr(n));
  }

  private unary(n: SyntaxNode, c: SyntaxNode[], post?: (e: Expr) => Expr): Expr {
    const op = this.textOf(c[0]!) as '-' | '+';
    const inner = post ? this.postfix(c[1]!, post) : this.expr(c[1]!);
    const t = typeOf(inner);
    if (t !== 'scalar' && t !== 'vector') this.fail(`unary expression only allowed on expressions of type scalar or instant vector, got "${typeNames[t]}"`, n);
    if (inner.kind === 'number') return { kind: 'number', value: op === '-' ? -inner.value : inner.value };
    return { kind: 'unary', op, expr: inner };
  }

  private applyPostfix(n: SyntaxNode, c: SyntaxNode[], inner: Expr): Expr {
    switch (n.name) {
      case 'MatrixSelector': {
        if (inner.kind !== 'vector') this.fail('ranges only allowed for vector selectors', n);
        if (inner.offsetMs !== 0 || inner.at) this.fail('no offset or @ modifiers allowed before range', n);
        const rangeMs = this.duration(c[1]!);
        if (rangeMs <= 0) this.fail('range duration must be greater than 0', c[1]!);
        return { kind: 'matrix', selector: inner, rangeMs };
      }
      case 'SubqueryExpr': {
        const t = typeOf(inner);
        if (t !== 'vector' && t !== 'scalar') this.fail(`subquery is only allowed on instant vector, got ${typeNames[t]} instead`, n);
        const rangeMs = this.duration(c[1]!);
        const stepMs = c[2] ? this.duration(c[2]) : 0;
        if (rangeMs <= 0) this.fail('range duration must be greater than 0', c[1]!);
        if (stepMs < 0) this.fail('step duration must be greater than 0', c[2]!);
        return { kind: 'subquery', expr: inner, rangeMs, stepMs, offsetMs: 0, at: undefined };
      }
      case 'OffsetExpr': {
        const target = this.modifierTarget(inner, 'offset', n);
        if (target.offsetMs !== 0) this.fail('offset may not be set multiple times', c[1]!);
        target.offsetMs = this.duration(c[2]!);
        return inner;
      }
      default: { // StepInvariantExpr
        const target = this.modifierTarget(inner, '@', n);
        if (target.at) this.fail('@ <timestamp> may not be set multiple times', c[1]!);
        const arg = c[2]!;
        let at: AtModifier;
        if (arg.name === 'AtModifierPreprocessors') at = { kind: arg.firstChild?.name === 'AtEnd' ? 'end' : 'start' };
        else {
          const sec = this.number(arg);
          if (!Number.isFinite(sec)) this.fail(`timestamp out of bounds for @ modifier: ${sec}`, arg);
          at = { kind: 'time', ms: Math.round(sec * 1000) };
        }
        target.at = at;
        return inner;
      }
    }
  }

  expr(n: SyntaxNode): Expr {
    const c = children(n);
    switch (n.name) {
      case 'NumberDurationLiteral': return { kind: 'number', value: this.number(n) };
      case 'StringLiteral': return { kind: 'string', value: this.string(n) };
      case 'VectorSelector': return this.vectorSelector(n);
      case 'ParenExpr': return { kind: 'paren', expr: this.expr(c[0]!) };
      case 'UnaryExpr': return this.unary(n, c);
      case 'MatrixSelector': case 'SubqueryExpr': case 'OffsetExpr': case 'StepInvariantExpr':
        return this.postfix(c[0]!, (inner) => this.applyPostfix(n, c, inner));
      case 'FunctionCall': return this.call(n, c);
      case 'AggregateExpr': return this.aggregation(n, c);
      case 'BinaryExpr': return this.binary(n, c);
      case 'AnchoredExpr': case 'SmoothedExpr': return this.fail('"anchored" and "smoothed" modifiers are not supported', n);
      default: return this.fail(`unexpected ${n.name}`, n);
    }
  }

  /** offset and @ attach to the selector or subquery they follow. */
  private modifierTarget(e: Expr, what: string, n: SyntaxNode): VectorSelector | Extract<Expr, { kind: 'subquery' }> {
    if (e.kind === 'vector' || e.kind === 'subquery') return e;
    if (e.kind === 'matrix') return e.selector;
    return this.fail(`${what} modifier must be preceded by an instant vector selector or range vector selector or a subquery`, n);
  }

  private vectorSelector(n: SyntaxNode): VectorSelector {
    const matchers: LabelMatcher[] = [];
    let name: string | undefined;
    for (const c of children(n)) {
      if (c.name === 'Identifier') {
        name = this.textOf(c);
        continue;
      }
      for (const m of children(c)) { // LabelMatchers
        if (m.name === 'QuotedLabelName') { // {"metric_name"}
          if (name !== undefined) this.fail(`metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(this.string(m.firstChild!))}`, m);
          name = this.string(m.firstChild!);
          continue;
        }
        const [ln, op, val] = children(m);
        const label = ln!.name === 'QuotedLabelName' ? this.string(ln!.firstChild!) : this.textOf(ln!);
        const matcher: LabelMatcher = { name: label, type: this.textOf(op!) as MatchType, value: this.string(val!) };
        if (matcher.type === '=~' || matcher.type === '!~') this.checkRegex(matcher.value, val!);
        matchers.push(matcher);
      }
    }
    if (name !== undefined) {
      if (matchers.some((m) => m.name === '__name__')) this.fail(`metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(matchers.find((m) => m.name === '__name__')!.value)}`, n);
      matchers.unshift({ name: '__name__', type: '=', value: name });
    } else {
      const eq = matchers.find((m) => m.name === '__name__' && m.type === '=');
      name = eq?.value;
    }
    if (matchers.every(matchesEmpty)) this.fail('vector selector must contain at least one non-empty matcher', n);
    return { kind: 'vector', name, matchers, offsetMs: 0, at: undefined };
  }

  /** RE2 and JS agree on the regexes people write; a pattern neither accepts is a user error. */
  private checkRegex(re: string, n: SyntaxNode): void {
    try { compileRegex(re); } catch (e) { this.fail(`invalid regular expression ${JSON.stringify(re)}: ${(e as Error).message}`, n); }
  }

  private call(n: SyntaxNode, c: SyntaxNode[]): Expr {
    const idNode = c[0]!;
    const func = this.renamed.get(idNode.from) ?? this.textOf(idNode);
    const sig = functionSignatures[func];
    if (!sig) this.fail(`function ${JSON.stringify(func)} is not supported by this server`, idNode);
    const args = children(c[1]!).map((a) => this.expr(a));
    const min = sig.args.length - (sig.optional ?? 0);
    if (sig.variadic && args.length < min) this.fail(`expected at least ${min} argument(s) in call to ${JSON.stringify(func)}, got ${args.length}`, n);
    if (args.length < min || (!sig.variadic && args.length > sig.args.length)) {
      this.fail(`expected ${sig.args.length} argument(s) in call to ${JSON.stringify(func)}, got ${args.length}`, n);
    }
    args.forEach((a, i) => {
      const want = sig.args[Math.min(i, sig.args.length - 1)]!;
      this.expectType(a, want, `call to function ${JSON.stringify(func)}`, c[1]!);
    });
    return { kind: 'call', func, args };
  }

  private aggregation(n: SyntaxNode, c: SyntaxNode[]): Expr {
    const op = this.textOf(c[0]!).toLowerCase();
    if (!supportedAggregations.has(op)) this.fail(`aggregation ${JSON.stringify(op)} is not supported by this server`, c[0]!);
    let grouping: string[] = [];
    let without = false;
    let body: SyntaxNode | undefined;
    for (const x of c.slice(1)) {
      if (x.name === 'FunctionCallBody') body = x;
      else if (x.name === 'AggregateModifier') {
        const [kw, labels] = children(x);
        without = kw!.name === 'Without';
        grouping = this.groupingLabels(labels!);
      }
    }
    const args = children(body!).map((a) => this.expr(a));
    const wantArgs = paramAggregations.has(op) ? 2 : 1;
    if (args.length !== wantArgs) this.fail(`wrong number of arguments for aggregate expression provided, expected ${wantArgs}, got ${args.length}`, body!);
    const expr = args[wantArgs - 1]!;
    this.expectType(expr, 'vector', 'aggregation expression', body!);
    const param = wantArgs === 2 ? args[0] : undefined;
    if (param) this.expectType(param, op === 'count_values' ? 'string' : 'scalar', 'aggregation parameter', body!);
    return { kind: 'aggregation', op: op as AggregationOp, param, expr, grouping, without };
  }

  private binary(n: SyntaxNode, c: SyntaxNode[], post?: (e: Expr) => Expr): Expr {
    const lhs = this.expr(c[0]!);
    const opNode = c[1]!;
    const op = binaryOpNames[opNode.name];
    if (!op) this.fail(`operator ${JSON.stringify(this.textOf(opNode))} is not supported`, opNode);
    let returnBool = false;
    let matchingNode: SyntaxNode | undefined;
    let rhsNode: SyntaxNode | undefined;
    for (const x of c.slice(2)) {
      if (x.name === 'BoolModifier') returnBool = true;
      else if (x.name === 'MatchingModifierClause') matchingNode = x;
      else if (x.name === 'FillModifier') this.fail('fill modifiers are not supported', x);
      else rhsNode = x;
    }
    const rhs = post ? this.postfix(rhsNode!, post) : this.expr(rhsNode!);
    const lt = typeOf(lhs), rt = typeOf(rhs);
    const isComparison = comparisonOps.has(op), isSet = setOps.has(op);
    if (returnBool && !isComparison) this.fail('bool modifier can only be used on comparison operators', opNode);
    for (const t of [lt, rt]) {
      if (t !== 'scalar' && t !== 'vector') this.fail('binary expression must contain only scalar and instant vector types', n);
    }
    if (isComparison && !returnBool && lt === 'scalar' && rt === 'scalar') this.fail('comparisons between scalars must use BOOL modifier', opNode);
    if (isSet && (lt !== 'vector' || rt !== 'vector')) {
      this.fail(`set operator ${JSON.stringify(op)} not allowed in binary scalar expression`, opNode);
    }
    let matching: VectorMatching | undefined;
    if (lt === 'vector' && rt === 'vector') {
      matching = { card: isSet ? 'many-to-many' : 'one-to-one', on: false, labels: [], include: [] };
      if (matchingNode) {
        const parts = children(matchingNode);
        matching.on = parts[0]!.name === 'On';
        matching.labels = this.groupingLabels(parts[1]!);
        const group = parts[2];
        if (group) {
          if (isSet) this.fail(`no grouping allowed for ${JSON.stringify(op)} operation`, group);
          matching.card = group.name === 'GroupLeft' ? 'many-to-one' : 'one-to-many';
          if (parts[3]) matching.include = this.groupingLabels(parts[3]);
          if (matching.on) {
            for (const l of matching.include) {
              if (matching.labels.includes(l)) this.fail(`label ${JSON.stringify(l)} must not occur in ON and GROUP clause at once`, group);
            }
          }
        }
      }
    } else if (matchingNode) {
      this.fail('vector matching only allowed between instant vectors', matchingNode);
    }
    return { kind: 'binary', op, lhs, rhs, returnBool, matching };
  }

  private groupingLabels(n: SyntaxNode): string[] {
    return children(n).map((l) => (l.name === 'QuotedLabelName' ? this.string(l.firstChild!) : this.textOf(l)));
  }

  private expectType(e: Expr, want: ValueType, context: string, n: SyntaxNode): void {
    const got = typeOf(e);
    if (got !== want) this.fail(`expected type ${typeNames[want]} in ${context}, got ${typeNames[got]}`, n);
  }

  private number(n: SyntaxNode): number {
    const t = this.textOf(n).replace(/\s+/g, '');
    const v = parseNumber(t);
    if (v === undefined) this.fail(`bad number or duration syntax: ${JSON.stringify(t)}`, n);
    return v;
  }

  /** Range and step durations; plain numbers are seconds, and simple arithmetic is allowed. */
  private duration(n: SyntaxNode): number {
    const c = children(n);
    if (n.name === 'NumberDurationLiteralInDurationContext') {
      const t = this.textOf(n);
      const d = parseDuration(t);
      if (d !== undefined) return d;
      const v = parseNumber(t);
      if (v === undefined || !Number.isFinite(v)) this.fail(`bad duration syntax: ${JSON.stringify(t)}`, n);
      return Math.round(v * 1000);
    }
    if (n.name !== 'DurationExpr' && n.name !== 'OffsetDurationExpr') return this.fail(`duration functions are not supported`, n);
    if (c.length === 1) return this.duration(c[0]!);
    if (c.length === 2 && c[0]!.name === 'UnaryOp') return this.textOf(c[0]!) === '-' ? -this.duration(c[1]!) : this.duration(c[1]!);
    if (c.length === 3) {
      const a = this.duration(c[0]!), b = this.duration(c[2]!);
      switch (c[1]!.name) {
        case 'Add': return a + b;
        case 'Sub': return a - b;
        case 'Mul': return a * b / 1000;
        case 'Div': return a / b * 1000;
      }
    }
    return this.fail(`unsupported duration expression ${JSON.stringify(this.textOf(n))}`, n);
  }

  private string(n: SyntaxNode): string {
    const raw = this.textOf(n);
    const v = unquote(raw);
    if (v === undefined) this.fail(`unterminated or invalid string literal ${raw}`, n);
    return v;
  }
}

/** Go's ParseFloat forms PromQL accepts, hex integers, and (as newer Prometheus does) durations as seconds. */
export function parseNumber(t: string): number | undefined {
  let sign = 1;
  let s = t;
  if (s[0] === '+' || s[0] === '-') { if (s[0] === '-') sign = -1; s = s.slice(1); }
  const lower = s.toLowerCase();
  if (lower === 'inf' || lower === 'infinity') return sign * Infinity;
  if (lower === 'nan') return NaN;
  if (/^0x[0-9a-f]+$/i.test(s)) return sign * parseInt(s.slice(2), 16);
  if (/^(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(s.replace(/_/g, ''))) return sign * Number(s.replace(/_/g, ''));
  const d = parseDuration(s);
  if (d !== undefined) return sign * d / 1000;
  return undefined;
}

/** Go-style string literal unquoting: "…" and '…' with escapes, `…` raw. */
export function unquote(raw: string): string | undefined {
  const q = raw[0];
  if (raw.length < 2 || raw[raw.length - 1] !== q) return undefined;
  const body = raw.slice(1, -1);
  if (q === '`') return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== '\\') { out += ch; continue; }
    const e = body[++i];
    switch (e) {
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': case "'": if (e !== q) return undefined; out += e; break;
      case 'x': case 'u': case 'U': {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) return undefined;
        const code = parseInt(hex, 16);
        out += e === 'x' ? String.fromCharCode(code) : String.fromCodePoint(code);
        i += len;
        break;
      }
      default: {
        const oct = body.slice(i, i + 3);
        if (!/^[0-7]{3}$/.test(oct)) return undefined;
        out += String.fromCharCode(parseInt(oct, 8));
        i += 2;
      }
    }
  }
  return out;
}

/**
 * Compiles a PromQL (RE2) regex for in-memory matching, anchored at both ends. A leading (?i)
 * (or other flags group) becomes a JS flag, which Node 20's RegExp has no inline syntax for.
 */
export function compileRegex(re: string): RegExp {
  let flags = 'u';
  let body = re;
  const m = /^\(\?([imsU]+)\)/.exec(body);
  if (m) {
    if (m[1]!.includes('i')) flags += 'i';
    if (m[1]!.includes('m')) flags += 'm';
    body = body.slice(m[0].length);
  }
  return new RegExp(`^(?:${body.replace(/\(\?P</g, "(?<")})$`, flags);
}
