// holt_winters (Prometheus 2.x): values worked out by hand, the argument checks and their errors,
// evaluated through the engine on a small in-memory source.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SeriesSamples, SeriesSource } from '../src/metrics/engine/evaluator.ts';
import { instantQuery, rangeQuery } from '../src/metrics/engine/query.ts';
import { PromqlEvalError } from '../src/metrics/engine/values.ts';
import { memorySource } from './promql-memory-source.ts';
import { parsePromql } from '../src/metrics/promql/parser.ts';

const t0 = 1_700_000_000_000;
const sec = 1000;

/** Samples 10 s apart starting at t0. */
function gauge(labels: Record<string, string>, values: number[]): SeriesSamples {
  return { labels: { __name__: 'g', ...labels }, timestamps: values.map((_, i) => t0 + i * 10 * sec), values };
}

async function valueAt(source: SeriesSource, query: string, timeMs: number): Promise<Record<string, string>> {
  const r = await instantQuery(source, query, timeMs);
  assert.equal(r.resultType, 'vector');
  const out: Record<string, string> = {};
  for (const s of r.result as { metric: Record<string, string>; value: [number, string] }[]) out[JSON.stringify(s.metric)] = s.value[1];
  return out;
}

describe('holt_winters', () => {
  const source = memorySource([
    gauge({ k: 'rising' }, [1, 3, 4, 8]),
    gauge({ k: 'flat' }, [10, 10, 10]),
    gauge({ k: 'step' }, [0, 4, 4]),
    gauge({ k: 'single' }, [5]),
  ]);
  const end = t0 + 30 * sec;

  it('parses with a range vector and two scalars, and checks the argument types', () => {
    const e = parsePromql('holt_winters(g[1m], 0.5, 0.5)');
    assert.ok(e.kind === 'call' && e.func === 'holt_winters' && e.args.length === 3);
    assert.throws(() => parsePromql('holt_winters(g, 0.5, 0.5)'), /expected type range vector in call to function "holt_winters", got instant vector/);
    assert.throws(() => parsePromql('holt_winters(g[1m], 0.5)'), /expected 3 argument\(s\) in call to "holt_winters", got 2/);
    // The name it is parsed under (day_of_month) never leaks out, nor into strings.
    const l = parsePromql('label_replace(g, "a", "holt_winters(", "b", "(.*)")');
    assert.ok(l.kind === 'call' && l.args[2]!.kind === 'string' && l.args[2]!.value === 'holt_winters(');
  });

  it('smooths each series to the values worked out by hand, dropping the metric name', async () => {
    // rising, sf = tf = 0.5: level 1, trend 2 → level 3 → trend 2, level 4.5 → trend 1.75, level 7.125.
    // flat: no trend, stays 10. step: level 0, trend 4 → level 4 → trend 4, level 6.
    // single: one sample, no output.
    assert.deepEqual(await valueAt(source, 'holt_winters(g[1m], 0.5, 0.5)', end), {
      '{"k":"flat"}': '10',
      '{"k":"rising"}': '7.125',
      '{"k":"step"}': '6',
    });
    // sf 0.25, tf 0.75: rising 1, trend 2 → 3 → trend 2, level 4.75 → trend 1.8125, level 6.921875;
    // step 0, trend 4 → 4 → trend 4, level 7.
    assert.deepEqual(await valueAt(source, 'holt_winters(g[1m], 0.25, 0.75)', end), {
      '{"k":"flat"}': '10',
      '{"k":"rising"}': '6.921875',
      '{"k":"step"}': '7',
    });
  });

  it('uses only the samples in the window', async () => {
    // At t0 + 10 s with a 15 s range the windows hold the first two samples: the level becomes the
    // second value (sf·v + (1 - sf)·(v0 + (v - v0)) = v).
    assert.deepEqual(await valueAt(source, 'holt_winters(g[15s], 0.5, 0.25)', t0 + 10 * sec), {
      '{"k":"flat"}': '10',
      '{"k":"rising"}': '3',
      '{"k":"step"}': '4',
    });
  });

  it('works under aggregations and in range queries', async () => {
    assert.deepEqual(await valueAt(source, 'sum(holt_winters(g[1m], 0.5, 0.5))', end), { '{}': '23.125' });
    const r = await rangeQuery(source, 'holt_winters(g{k="rising"}[1m], 0.5, 0.5)', t0 + 10 * sec, end, 10 * sec);
    const rising = r.result.find((s) => s.metric.k === 'rising');
    // Windows of 2, 3 and 4 samples: 3, 4.5, 7.125.
    assert.deepEqual(rising?.values.map((p) => p[1]), ['3', '4.5', '7.125']);
  });

  it('refuses factors outside (0, 1) with Prometheus\' message', async () => {
    await assert.rejects(valueAt(source, 'holt_winters(g[1m], 1, 0.5)', end),
      (e: unknown) => e instanceof PromqlEvalError && e.message === 'invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000');
    await assert.rejects(valueAt(source, 'holt_winters(g[1m], 0, 0.5)', end), /invalid smoothing factor\. Expected: 0 < sf < 1, got: 0\.000000/);
    await assert.rejects(valueAt(source, 'holt_winters(g[1m], 0.5, 1.5)', end), /invalid trend factor\. Expected: 0 < tf < 1, got: 1\.500000/);
    await assert.rejects(valueAt(source, 'holt_winters(g[1m], 0.5, -0.25)', end), /invalid trend factor\. Expected: 0 < tf < 1, got: -0\.250000/);
    // As in Prometheus the check runs per series window, so a window of one sample still fails...
    await assert.rejects(valueAt(memorySource([gauge({}, [5])]), 'holt_winters(g[1m], 2, 0.5)', end), /invalid smoothing factor/);
    // ...and a selector with no samples at all gives an empty result, not an error.
    assert.deepEqual(await valueAt(source, 'holt_winters(g[1m], 2, 0.5)', t0 + 3600 * sec), {});
  });
});

