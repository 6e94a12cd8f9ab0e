// Reading figures out of Prometheus text (an agent's /metrics) in the benches.

/** Sum of the samples of one metric whose label text contains every given fragment. */
export function sumMetric(text: string, name: string, ...fragments: string[]): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{.*\})? (\S+)$/.exec(line);
    if (m && m[1] === name && fragments.every((f) => (m[2] ?? '').includes(f))) total += Number(m[3]);
  }
  return total;
}

/** "value-of-label=sample …" for one metric's non-zero samples, or "none". */
export function nonZeroByLabel(text: string, name: string, label: string): string {
  const parts: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)(\{.*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name || Number(m[3]) === 0) continue;
    const l = new RegExp(`${label}="([^"]*)"`).exec(m[2] ?? '');
    parts.push(`${l?.[1] ?? '?'}=${m[3]}`);
  }
  return parts.length ? parts.join(' ') : 'none';
}
