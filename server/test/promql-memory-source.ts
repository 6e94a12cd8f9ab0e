// An in-memory SeriesSource for PromQL engine tests that need no storage: series as given,
// selected by metric name only (enough for queries over one or two metrics).
import type { SeriesSamples, SeriesSource } from '../src/metrics/engine/evaluator.ts';

export function memorySource(series: SeriesSamples[]): SeriesSource {
  return {
    async selectSeries(matchers, fromMs, toMs) {
      const name = matchers.find((m) => m.name === '__name__')?.value;
      return series.filter((s) => s.labels.__name__ === name && Array.from(s.timestamps).some((t) => t > fromMs && t <= toMs));
    },
  };
}
