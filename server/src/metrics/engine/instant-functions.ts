// Functions of instant vectors and scalars: math, clamping, label rewriting, time of day.
import { compileRegex } from '../promql/parser.ts';
import { withoutName, type Labels } from './labels.ts';
import { PromqlEvalError, type InstantSample } from './values.ts';

/** Element-wise math; the result drops the metric name. */
export const mathFunctions: Record<string, (v: number) => number> = {
  abs: Math.abs, ceil: Math.ceil, floor: Math.floor, exp: Math.exp, sqrt: Math.sqrt,
  ln: Math.log, log2: Math.log2, log10: Math.log10,
  sgn: (v) => (v > 0 ? 1 : v < 0 ? -1 : v),
  acos: Math.acos, acosh: Math.acosh, asin: Math.asin, asinh: Math.asinh, atan: Math.atan, atanh: Math.atanh,
  cos: Math.cos, cosh: Math.cosh, sin: Math.sin, sinh: Math.sinh, tan: Math.tan, tanh: Math.tanh,
  deg: (v) => (v * 180) / Math.PI, rad: (v) => (v * Math.PI) / 180,
};

export function mapValues(samples: InstantSample[], f: (v: number) => number): InstantSample[] {
  return samples.map((s) => ({ labels: withoutName(s.labels), value: f(s.value) }));
}

/** Go's math.Floor(v*(1/to)+0.5)/(1/to): rounds half up to the nearest multiple of `to`. */
export function roundTo(v: number, to: number): number {
  const inv = 1 / to;
  return Math.floor(v * inv + 0.5) / inv;
}

const labelNameRe = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function labelReplace(samples: InstantSample[], dst: string, replacement: string, src: string, regex: string): InstantSample[] {
  let re: RegExp;
  try { re = compileRegex(regex); } catch (e) { throw new PromqlEvalError(`invalid regular expression in label_replace(): ${regex}`); }
  if (!labelNameRe.test(dst)) throw new PromqlEvalError(`invalid destination label name in label_replace(): ${dst}`);
  return samples.map((s) => {
    const m = re.exec(s.labels[src] ?? '');
    if (!m) return s;
    return { ...s, labels: setLabel(s.labels, dst, expandTemplate(replacement, m)) };
  });
}

export function labelJoin(samples: InstantSample[], dst: string, sep: string, srcs: string[]): InstantSample[] {
  if (!labelNameRe.test(dst)) throw new PromqlEvalError(`invalid destination label name in label_join(): ${dst}`);
  for (const l of srcs) if (!labelNameRe.test(l)) throw new PromqlEvalError(`invalid source label name in label_join(): ${l}`);
  return samples.map((s) => ({ ...s, labels: setLabel(s.labels, dst, srcs.map((l) => s.labels[l] ?? '').join(sep)) }));
}

function setLabel(l: Labels, name: string, value: string): Labels {
  const out = { ...l };
  if (value === '') delete out[name]; else out[name] = value;
  return out;
}

/** Expands $1, ${1}, $name and ${name} as Go's Regexp.Expand does; $$ is a literal $. */
export function expandTemplate(template: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]!;
    if (ch !== '$' || i === template.length - 1) { out += ch; continue; }
    const next = template[i + 1]!;
    if (next === '$') { out += '$'; i++; continue; }
    let name: string | undefined;
    let len = 0;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (close >= 0 && /^[A-Za-z0-9_]+$/.test(inner)) { name = inner; len = close - i + 1; }
    } else {
      const word = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1))?.[0];
      if (word) { name = word; len = word.length + 1; }
    }
    if (name === undefined) { out += ch; continue; }
    if (/^\d+$/.test(name)) out += m[Number(name)] ?? '';
    else out += m.groups?.[name] ?? '';
    i += len - 1;
  }
  return out;
}

/** Calendar functions of a unix-seconds value, in UTC. */
export const timeFunctions: Record<string, (d: Date) => number> = {
  minute: (d) => d.getUTCMinutes(),
  hour: (d) => d.getUTCHours(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_month: (d) => d.getUTCDate(),
  day_of_year: (d) => Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1,
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};
