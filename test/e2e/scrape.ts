import { spawnSync } from 'node:child_process';

// Reads a Prometheus text exposition back into samples, for assertions.
export interface ScrapedSample { name: string; labels: Record<string, string>; value: number }

export function parseExposition(text: string): ScrapedSample[] {
  const out: ScrapedSample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export function pick(samples: ScrapedSample[], name: string, match: Record<string, string>): ScrapedSample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/**
 * Runs `promtool check metrics` and returns what it complained about, except the one lint
 * complaint Coroot-compatible names earn on purpose: request latency histograms are named
 * `*_duration_seconds_total` (reference/node-agent.md §1.1), which promtool flags as a
 * non-counter with a _total suffix. A parse error is returned too.
 */
export function promtoolComplaints(exposition: string): string[] {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  const lines = `${r.stdout}${r.stderr}`.split('\n').filter(Boolean);
  if (r.status === 1) return lines.length ? lines : ['promtool: parse error'];
  return lines.filter((l) => !/^container_\w+_duration_seconds_total non-counter metrics should not have "_total" suffix$/.test(l.trim()));
}
