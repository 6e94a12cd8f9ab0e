// Recursive-descent parser for our PromQL subset. It rejects what we do not evaluate yet with a
// message naming the construct, so a user can tell "wrong query" from "not supported here".
import { matchesEmpty, type LabelMatcher, type MatchType } from '../label-matcher.ts';
import { functionNames, typeOf, type BinaryOp, type Expr, type FunctionName, type VectorSelector } from './ast.ts';
import { parseDuration } from './duration.ts';
import { PromqlSyntaxError, tokenize, type Token } from './lexer.ts';

export { PromqlSyntaxError } from './lexer.ts';

export function parsePromql(src: string): Expr {
  const p = new Parser(tokenize(src));
  const e = p.expr();
  p.expectEof();
  return e;
}

const unsupportedKeywords = new Set(['offset', 'bool', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'atan2']);
const otherAggregations = new Set(['avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token { return this.toks[this.i]!; }
  private next(): Token { return this.toks[this.i++]!; }
  private isOp(text: string): boolean { const t = this.peek(); return t.kind === 'op' && t.text === text; }
  private fail(msg: string, t: Token = this.peek()): never { throw new PromqlSyntaxError(msg, t.pos); }
  private describe(t: Token): string { return t.kind === 'eof' ? 'end of input' : `"${t.text}"`; }

  private expectOp(text: string): void {
    if (!this.isOp(text)) this.fail(`expected "${text}", got ${this.describe(this.peek())}`);
    this.i++;
  }

  expectEof(): void {
    const t = this.peek();
    if (t.kind === 'eof') return;
    if (t.kind === 'ident' && unsupportedKeywords.has(t.text.toLowerCase())) this.fail(`"${t.text}" is not supported yet`);
    if (t.kind === 'op' && (t.text === '==' || t.text === '!=')) this.fail('comparison operators are not supported yet');
    this.fail(`unexpected ${this.describe(t)}`);
  }

  expr(): Expr {
    let lhs = this.mulExpr();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().text as BinaryOp;
      lhs = this.binary(op, lhs, this.mulExpr());
    }
    return lhs;
  }

  private mulExpr(): Expr {
    let lhs = this.unary();
    while (this.isOp('*') || this.isOp('/')) {
      const op = this.next().text as BinaryOp;
      lhs = this.binary(op, lhs, this.unary());
    }
    return lhs;
  }

  private binary(op: BinaryOp, lhs: Expr, rhs: Expr): Expr {
    const lt = typeOf(lhs), rt = typeOf(rhs);
    if (lt === 'matrix' || rt === 'matrix') this.fail('binary expression must contain only scalar and instant vector types');
    if (lt === 'vector' && rt === 'vector') this.fail(`"${op}" between two instant vectors is not supported yet (only vector-scalar arithmetic)`);
    return { kind: 'binary', op, lhs, rhs };
  }

  private unary(): Expr {
    if (this.isOp('-') || this.isOp('+')) {
      const neg = this.next().text === '-';
      const e = this.unary();
      if (!neg) return e;
      if (e.kind === 'number') return { kind: 'number', value: -e.value };
      // -x == x * -1 (keeps -0 for 0, as Prometheus' negation does) and drops the metric name.
      return this.binary('*', e, { kind: 'number', value: -1 });
    }
    return this.postfix();
  }

  private postfix(): Expr {
    const e = this.primary();
    if (!this.isOp('[')) return e;
    const open = this.next();
    if (e.kind !== 'vector') this.fail('ranges are only allowed on vector selectors (subqueries are not supported yet)', open);
    const d = this.next();
    if (d.kind !== 'duration') this.fail(`expected a duration like 5m inside [], got ${this.describe(d)}`, d);
    if (this.peek().kind === 'ident' && this.peek().text.startsWith(':')) this.fail('subqueries are not supported yet');
    this.expectOp(']');
    const rangeMs = parseDuration(d.text)!;
    if (rangeMs <= 0) this.fail('range must be positive', d);
    return { kind: 'matrix', selector: e, rangeMs };
  }

  private primary(): Expr {
    const t = this.peek();
    if (t.kind === 'number') { this.i++; return { kind: 'number', value: Number(t.text) }; }
    if (t.kind === 'duration') this.fail(`unexpected duration "${t.text}" outside []`);
    if (t.kind === 'string') this.fail('string literals are not supported as expressions');
    if (this.isOp('(')) {
      this.i++;
      const e = this.expr();
      this.expectOp(')');
      return { kind: 'paren', expr: e };
    }
    if (this.isOp('{')) return this.selector(undefined);
    if (t.kind !== 'ident') this.fail(`unexpected ${this.describe(t)}`);
    const lower = t.text.toLowerCase();
    if (lower === 'inf' || lower === 'nan') { this.i++; return { kind: 'number', value: lower === 'inf' ? Infinity : NaN }; }
    if (lower === 'sum') return this.aggregation();
    if (otherAggregations.has(lower) && (this.toks[this.i + 1]?.text === '(' || ['by', 'without'].includes(this.toks[this.i + 1]?.text ?? ''))) {
      this.fail(`aggregation "${t.text}" is not supported yet (only sum)`);
    }
    if (this.toks[this.i + 1]?.kind === 'op' && this.toks[this.i + 1]?.text === '(') return this.call();
    if (unsupportedKeywords.has(lower)) this.fail(`"${t.text}" is not supported yet`);
    this.i++;
    return this.selector(t.text);
  }

  private call(): Expr {
    const name = this.next();
    if (!(functionNames as readonly string[]).includes(name.text)) this.fail(`unknown or unsupported function "${name.text}" (supported: ${functionNames.join(', ')})`, name);
    this.expectOp('(');
    if (this.isOp(')')) this.fail(`expected 1 argument(s) in call to "${name.text}", got 0`);
    const arg = this.expr();
    if (this.isOp(',')) this.fail(`expected 1 argument(s) in call to "${name.text}", got more`);
    this.expectOp(')');
    if (typeOf(arg) !== 'matrix') this.fail(`expected type range vector in call to function "${name.text}", got ${typeName(typeOf(arg))}`, name);
    return { kind: 'call', func: name.text as FunctionName, arg };
  }

  private aggregation(): Expr {
    const op = this.next();
    let grouping: string[] = [];
    let without = false;
    let hasGrouping = false;
    const readGrouping = (): void => {
      if (hasGrouping) this.fail('grouping given twice');
      without = this.next().text.toLowerCase() === 'without';
      grouping = this.labelList();
      hasGrouping = true;
    };
    if (this.peekIdent('by') || this.peekIdent('without')) readGrouping();
    this.expectOp('(');
    const expr = this.expr();
    if (this.isOp(',')) this.fail(`"${op.text}" takes one argument`);
    this.expectOp(')');
    if (this.peekIdent('by') || this.peekIdent('without')) readGrouping();
    if (typeOf(expr) !== 'vector') this.fail(`expected type instant vector in aggregation expression, got ${typeName(typeOf(expr))}`, op);
    return { kind: 'aggregation', op: 'sum', grouping, without, expr };
  }

  private peekIdent(word: string): boolean {
    const t = this.peek();
    return t.kind === 'ident' && t.text.toLowerCase() === word;
  }

  private labelList(): string[] {
    this.expectOp('(');
    const out: string[] = [];
    while (!this.isOp(')')) {
      const t = this.next();
      if (t.kind !== 'ident' || t.text.includes(':')) this.fail(`expected a label name, got ${this.describe(t)}`, t);
      out.push(t.text);
      if (!this.isOp(',')) break;
      this.i++;
    }
    this.expectOp(')');
    return out;
  }

  private selector(name: string | undefined): VectorSelector {
    const start = this.toks[this.i - (name === undefined ? 0 : 1)]!;
    const matchers: LabelMatcher[] = [];
    if (name !== undefined) matchers.push({ name: '__name__', type: '=', value: name });
    if (this.isOp('{')) {
      this.i++;
      while (!this.isOp('}')) {
        const label = this.next();
        if (label.kind !== 'ident' || label.text.includes(':')) this.fail(`expected a label name in the selector, got ${this.describe(label)}`, label);
        const op = this.next();
        if (op.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(op.text)) this.fail(`expected a label matching operator (=, !=, =~, !~), got ${this.describe(op)}`, op);
        const value = this.next();
        if (value.kind !== 'string') this.fail(`expected a quoted string after ${label.text}${op.text}, got ${this.describe(value)}`, value);
        if (label.text === '__name__' && name !== undefined) this.fail('metric name must not be set twice', label);
        matchers.push({ name: label.text, type: op.text as MatchType, value: value.text });
        if (!this.isOp(',')) break;
        this.i++;
      }
      this.expectOp('}');
    }
    if (this.peekIdent('offset')) this.fail('"offset" is not supported yet');
    if (matchers.every(matchesEmpty)) this.fail('vector selector must contain at least one non-empty matcher', start);
    return { kind: 'vector', matchers };
  }
}

function typeName(t: string): string {
  return t === 'matrix' ? 'range vector' : t === 'vector' ? 'instant vector' : t;
}
