// Comparing answers of the Prometheus HTTP API from two servers: same label sets, values equal
// within 1e-9 relative or 1e-12 absolute, NaN equals NaN, both refusing counts as equal.

export type Outcome = { ok: true; resultType: string; result: unknown } | { ok: false; errorType: string; error: string };

export async function call(url: string, path: string, params: Record<string, string>): Promise<Outcome> {
  const r = await fetch(`${url}${path}`, { method: 'POST', body: new URLSearchParams(params), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  const text = await r.text();
  let body: { status: string; data?: { resultType: string; result: unknown }; errorType?: string; error?: string };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return { ok: false, errorType: `http ${r.status}`, error: text.slice(0, 300) };
  }
  if (body.status === 'success') return { ok: true, resultType: body.data!.resultType, result: body.data!.result };
  return { ok: false, errorType: body.errorType ?? '?', error: body.error ?? '?' };
}

export function num(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

export function close(a: string, b: string): boolean {
  const x = num(a), y = num(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
  if (x === y) return true;
  return Math.abs(x - y) <= 1e-12 || Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
}

export const key = (m: Record<string, string>): string => JSON.stringify(Object.entries(m).sort());

/** undefined when equal, else what differs. */
export function diff(p: Outcome, r: Outcome): string | undefined {
  if (!p.ok || !r.ok) {
    if (!p.ok && !r.ok) return undefined;
    return p.ok ? `Rootsight failed: ${(r as { error: string }).error}` : `Prometheus failed (${p.error}) but Rootsight answered`;
  }
  if (p.resultType !== r.resultType) return `result type ${p.resultType} vs ${r.resultType}`;
  if (p.resultType === 'scalar' || p.resultType === 'string') {
    const [pt, pv] = p.result as [number, string], [rt, rv] = r.result as [number, string];
    if (pt !== rt || (p.resultType === 'string' ? pv !== rv : !close(pv, rv))) return `${JSON.stringify(p.result)} vs ${JSON.stringify(r.result)}`;
    return undefined;
  }
  type Row = { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] };
  const pm = new Map((p.result as Row[]).map((s) => [key(s.metric), s.values ?? [s.value!]]));
  const rm = new Map((r.result as Row[]).map((s) => [key(s.metric), s.values ?? [s.value!]]));
  for (const k of pm.keys()) if (!rm.has(k)) return `series ${k} missing from Rootsight (${pm.size} vs ${rm.size} series)`;
  for (const k of rm.keys()) if (!pm.has(k)) return `extra series ${k} in Rootsight (${pm.size} vs ${rm.size} series)`;
  for (const [k, pv] of pm) {
    const rv = rm.get(k)!;
    if (pv.length !== rv.length) return `${k}: ${pv.length} vs ${rv.length} points`;
    for (let i = 0; i < pv.length; i++) {
      if (pv[i]![0] !== rv[i]![0] || !close(pv[i]![1], rv[i]![1])) return `${k} at ${pv[i]![0]}: ${pv[i]![1]} vs ${rv[i]![0]}=${rv[i]![1]}`;
    }
  }
  return undefined;
}

