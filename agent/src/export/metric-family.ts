// The agent's in-memory shape of a scrape: families of samples computed from
// live state at collection time, then rendered as Prometheus text or remote write.
// The family types are common's, where the text rendering lives.
import type { MetricFamily, MetricFamilyType, MetricSample } from '@rootsight/common';

export type { MetricFamily, MetricSample };
export type MetricType = MetricFamilyType;
export type Labels = Record<string, string>;

/** Anything that can contribute families to a scrape. */
export interface MetricCollector {
  collect(): MetricFamily[];
}

/** Collects from every collector and merges families that share a name. */
export function gather(collectors: readonly MetricCollector[]): MetricFamily[] {
  const byName = new Map<string, MetricFamily>();
  for (const c of collectors) {
    for (const f of c.collect()) {
      const existing = byName.get(f.name);
      if (existing) existing.samples.push(...f.samples);
      else byName.set(f.name, { ...f, samples: [...f.samples] });
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Adds labels to every sample (machine_id and the like), without overriding ones already set. */
export function withLabels(families: MetricFamily[], extra: Labels): MetricFamily[] {
  return families.map((f) => ({
    ...f,
    samples: f.samples.map((s) => ({ ...s, labels: { ...extra, ...s.labels } })),
  }));
}
