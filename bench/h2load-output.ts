// Reading h2load's results: the summary it prints and the per-request --log-file.

export interface H2loadSummary { total: number; started: number; done: number; succeeded: number; failed: number; errored: number; timeout: number }

/** Parses h2load's "requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout" line. */
export function parseH2loadSummary(stdout: string): H2loadSummary {
  const m = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  if (!m) throw new Error(`h2load printed no "requests:" summary line; its output was:\n${stdout}`);
  const [total, started, done, succeeded, failed, errored, timeout] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return { total, started, done, succeeded, failed, errored, timeout };
}

/** Microseconds per request (third column of the --log-file rows), sorted ascending. */
export function readH2loadLatencies(log: string): Float64Array {
  const rows = log.split('\n').filter(Boolean);
  const out = new Float64Array(rows.length);
  let n = 0;
  for (const row of rows) {
    const us = Number(row.split('\t')[2]);
    if (Number.isFinite(us)) out[n++] = us;
  }
  return out.subarray(0, n).sort();
}

/** Nearest-rank percentile of sorted values; NaN when there are none. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
