// Turns one scrape into a remote-write WriteRequest with metadata per family.
import type { Label, WriteRequest } from '@rootsight/common';
import type { MetricFamily } from './metric-family.ts';

export function toWriteRequest(families: readonly MetricFamily[], timestampMs: number, extraLabels: Record<string, string> = {}): WriteRequest {
  const req: WriteRequest = { timeseries: [], metadata: [] };
  for (const f of families) {
    if (f.samples.length === 0) continue;
    req.metadata.push({ type: f.type, family: f.name, help: f.help, unit: '' });
    for (const s of f.samples) {
      const labels: Label[] = [{ name: '__name__', value: f.name + (s.suffix ?? '') }];
      const merged = { ...extraLabels, ...s.labels };
      for (const name of Object.keys(merged).sort()) {
        const value = merged[name]!;
        if (value !== '') labels.push({ name, value });
      }
      req.timeseries.push({ labels, samples: [{ value: s.value, timestampMs }] });
    }
  }
  return req;
}
