// Prometheus durations: one or more <integer><unit> pairs, largest unit first (e.g. 1h30m).
const unitMs: Record<string, number> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000,
};
const order = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

/** Returns milliseconds, or undefined if `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+)(ms|y|w|d|h|m|s)/y;
  let pos = 0;
  let total = 0;
  let lastUnit = -1;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return undefined;
    const u = order.indexOf(m[2]!);
    if (u <= lastUnit) return undefined; // units must shrink and not repeat
    lastUnit = u;
    total += Number(m[1]) * unitMs[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : total;
}
