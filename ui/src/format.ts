import { EXTERNAL_PREFIX, isExternal } from './api.ts';

/** 950 → "950", 1234 → "1.2k", 5_600_000 → "5.6M". */
export function compactNumber(n: number): string {
  const abs = Math.abs(n);
  if (abs < 1000) return String(Math.round(n));
  const units: [number, string][] = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [size, suffix] of units) {
    if (abs >= size) {
      const v = n / size;
      return `${v >= 100 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, '')}${suffix}`;
    }
  }
  return String(n);
}

/** 1840 → "1,840": the side panel has room for exact counts. */
export function exactNumber(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Cuts the middle out of a long string so both the prefix and the distinguishing tail stay visible. */
export function middleEllipsis(s: string, max: number): string {
  if (s.length <= max) return s;
  const keep = max - 1;
  const head = Math.ceil(keep / 2);
  return `${s.slice(0, head)}…${s.slice(s.length - (keep - head))}`;
}

export interface NodeLabelText {
  /** The part of the id that names the thing (deployment name, unit, ip:port). */
  primary: string;
  /** Context such as namespace and kind, or "external". */
  secondary: string;
}

// Sized for the node box: about 150 px of text at 13 px (name) and 11 px (context).
const MAX_PRIMARY = 20;
const MAX_SECONDARY = 26;

/**
 * Application ids look like `namespace:Kind:name` (Kubernetes) or `/system.slice/x.service`
 * (systemd); external targets are `external:<ip:port>`. The name is what people scan for,
 * so it becomes the primary line and the rest becomes context.
 */
export function nodeLabel(id: string): NodeLabelText {
  if (isExternal(id)) {
    return { primary: middleEllipsis(id.slice(EXTERNAL_PREFIX.length), MAX_PRIMARY), secondary: 'external' };
  }
  const colon = id.split(':').filter((p) => p.length > 0);
  if (colon.length > 1) {
    const name = colon[colon.length - 1];
    return {
      primary: middleEllipsis(name, MAX_PRIMARY),
      secondary: middleEllipsis(colon.slice(0, -1).join(' · '), MAX_SECONDARY),
    };
  }
  const slash = id.split('/').filter((p) => p.length > 0);
  if (slash.length > 1) {
    return {
      primary: middleEllipsis(slash[slash.length - 1], MAX_PRIMARY),
      secondary: middleEllipsis(slash.slice(0, -1).join('/'), MAX_SECONDARY),
    };
  }
  return { primary: middleEllipsis(id, MAX_PRIMARY), secondary: '' };
}

export function windowLabel(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

export function ago(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ago`;
  return `${Math.floor(m / 60)}h ago`;
}
