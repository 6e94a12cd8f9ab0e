// Differential test: the same generated series go to a real Prometheus 2.42 (backfilled with
// promtool) and to Rootsight (remote write); every corpus query runs on both as instant queries at
// several times and as range queries, and the answers must match (same label sets; values equal
// within 1e-9 relative or 1e-12 absolute; NaN equals NaN; both refusing counts as equal).
// Run by two test files (chDB allows one server per process): one where the in-memory head answers,
// one where every read goes to storage, as after a restart for data written before it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { StartServerOptions } from '../../server/src/main.ts';
import { push, removeDir, series, startTestServer, type TestServer } from '../../server/test/helpers.ts';
import { call, diff } from './compare.ts';
import { generate, spanMs, toOpenMetrics } from './dataset.ts';
import { prometheusAvailable, promtoolBinary, startPrometheus, type RunningPrometheus } from './prometheus-process.ts';

// A few hours in the past: backfilled blocks must not overlap Prometheus' head block.
const base = Math.floor((Date.now() - 5 * 3600_000) / 3600_000) * 3600_000;
const min = 60_000;
const instantTimes = [base + 10 * min, base + 30 * min + 7_500, base + 45 * min, base + 60 * min + 30_000, base + 63 * min, base + 68 * min];
const ranges: { start: number; end: number; step: number }[] = [
  { start: base + 5 * min, end: base + spanMs + 5 * min, step: 60_000 },
  { start: base + 2 * min + 13_000, end: base + 40 * min, step: 45_000 },
];
const atSeconds = String((base + 20 * min) / 1000);

interface Corpus { equal: string[]; known: string[]; unsupported: string[] }

function readCorpus(): Corpus {
  const out: Corpus = { equal: [], known: [], unsupported: [] };
  let section: keyof Corpus = 'equal';
  for (const raw of readFileSync(new URL('./queries.txt', import.meta.url), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '# known differences') { section = 'known'; continue; }
    if (line === '# unsupported') { section = 'unsupported'; continue; }
    if (line === '' || line.startsWith('#')) continue;
    out[section].push(line.replaceAll('$AT', atSeconds));
  }
  return out;
}

/** Runs a query everywhere it is asked (instants and ranges); returns the first difference. */
async function compareQuery(promUrl: string, ours: string, q: string): Promise<string | undefined> {
  for (const t of instantTimes) {
    const params = { query: q, time: String(t / 1000) };
    const d = diff(await call(promUrl, '/api/v1/query', params), await call(ours, '/prometheus/api/v1/query', params));
    if (d) return `instant @${t / 1000}: ${d}`;
  }
  for (const r of ranges) {
    const params = { query: q, start: String(r.start / 1000), end: String(r.end / 1000), step: String(r.step / 1000) };
    const d = diff(await call(promUrl, '/api/v1/query_range', params), await call(ours, '/prometheus/api/v1/query_range', params));
    if (d) return `range step ${r.step / 1000}s: ${d}`;
  }
  return undefined;
}

async function mapLimit<T, R>(items: T[], limit: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) { const i = next++; out[i] = await f(items[i]!); }
  }));
  return out;
}

const skip = prometheusAvailable() ? false : 'needs /usr/bin/prometheus and /usr/bin/promtool (Debian package prometheus)';

/**
 * The corpus against Prometheus, with Rootsight started with `serverOptions`. With `cachedPass`,
 * the corpus runs a second time, when its reads are served from the decoded-sample cache.
 */
export function promqlDifferentialSuite(title: string, serverOptions: StartServerOptions, opts: { cachedPass?: boolean } = {}): void {
  describe(title, { skip }, () => {
    let prom: RunningPrometheus;
    let srv: TestServer;
    const corpus = readCorpus();

    before(async () => {
      const data = generate(base);
      [prom, srv] = await Promise.all([startPrometheus(toOpenMetrics(data)), startTestServer(serverOptions)]);
      for (let i = 0; i < data.length; i += 25) {
        const res = await push(srv.url, data.slice(i, i + 25).map((s) => series(s.name, s.labels, s.samples)));
        assert.equal(res.status, 204, await res.text());
      }
    });

    after(async () => {
      await prom?.stop();
      if (srv) { await srv.close(); removeDir(srv.dataDir); }
    });

    it('the corpus has at least 200 queries', () => {
      assert.ok(corpus.equal.length + corpus.known.length >= 200, `${corpus.equal.length} queries`);
    });

    it('every corpus query gives the same answer', async () => {
      const results = await mapLimit(corpus.equal, 6, (q) => compareQuery(prom.url, srv.url, q));
      const failures = corpus.equal.flatMap((q, i) => (results[i] ? [`  ${q}\n    ${results[i]}`] : []));
      const known = await mapLimit(corpus.known, 6, (q) => compareQuery(prom.url, srv.url, q));
      const total = corpus.equal.length + corpus.known.length;
      const equal = results.filter((d) => !d).length + known.filter((d) => !d).length;
      console.log(`${equal}/${total} queries equal`);
      corpus.known.forEach((q, i) => console.log(`known difference: ${q}\n    ${known[i] ?? 'now equal'}`));
      assert.deepEqual(failures, [], `differences:\n${failures.join('\n')}`);
    });

    if (opts.cachedPass) {
      it('later passes of the corpus, served from the sample cache, give the same answers', async () => {
        const cache = srv.metricsCache;
        assert.ok(cache, 'the server has a sample cache');
        const pass = async () => {
          const results = await mapLimit(corpus.equal, 6, (q) => compareQuery(prom.url, srv.url, q));
          const failures = corpus.equal.flatMap((q, i) => (results[i] ? [`  ${q}\n    ${results[i]}`] : []));
          assert.deepEqual(failures, [], `differences:\n${failures.join('\n')}`);
        };
        // Windows still "live" (written to moments before) when the first pass read them were read
        // without being cached; on a slow machine that can be some of them. This pass caches them.
        await pass();
        const before = cache.stats();
        await pass();
        const after = cache.stats();
        // Nothing was written meanwhile: every window read before is still held.
        assert.ok(after.hits > before.hits, `cache hits ${before.hits} -> ${after.hits}`);
        assert.equal(after.misses, before.misses, 'the last pass read nothing from storage');
      });
    }

    it('unsupported queries are refused with an error naming the construct', async () => {
      for (const q of corpus.unsupported) {
        const r = await call(srv.url, '/prometheus/api/v1/query', { query: q, time: String(instantTimes[0]! / 1000) });
        assert.equal(r.ok, false, q);
        assert.match((r as { error: string }).error, /not supported|unknown|unexpected/, q);
      }
    });

    // promtool runs as a child process; the server lives in this process, so never block on it.
    it('promtool query instant / range / series / labels work against Rootsight and match Prometheus', async () => {
      const runBoth = async (args: string[]): Promise<[string, string]> => {
        const outs = await Promise.all([`${prom.url}`, `${srv.url}/prometheus`].map(async (u) => {
          try {
            const r = await run(promtoolBinary, ['query', args[0]!, u, ...args.slice(1)], { timeout: 30_000 });
            return r.stdout;
          } catch (e) {
            throw new Error(`promtool query ${args.join(' ')} against ${u}: ${(e as { stderr?: string }).stderr ?? e}`);
          }
        }));
        return [outs[0]!, outs[1]!];
      };
      const t = String(instantTimes[2]! / 1000);
      const [pi, ri] = await runBoth(['instant', '--time', t, 'sum by (machine_id) (rate(node_resources_cpu_usage_seconds_total[5m]))']);
      assert.match(ri, /machine_id="m1"/);
      assert.equal(sortLines(ri), sortLines(pi));
      const [pr, rr] = await runBoth(['range', '--start', String(ranges[0]!.start / 1000), '--end', String(ranges[0]!.end / 1000), '--step', '1m', 'sum by (job) (rs_gauge)']);
      assert.match(rr, /job="a"/);
      assert.equal(sortLines(rr), sortLines(pr));
      const [ps, rs] = await runBoth(['series', '--match', 'rs_gauge', '--start', String(base / 1000), '--end', String((base + spanMs) / 1000)]);
      assert.match(rs, /instance="x"/);
      assert.equal(sortLines(rs), sortLines(ps));
      const [pl, rl] = await runBoth(['labels', '--start', String(base / 1000), '--end', String((base + spanMs) / 1000), 'machine_id']);
      assert.match(rl, /m2/);
      assert.equal(sortLines(rl), sortLines(pl));
      console.log(`promtool instant against Rootsight:\n${ri}`);
    });
  });
}

const run = promisify(execFile);

function sortLines(s: string): string {
  return s.split('\n').filter((l) => l.trim() !== '').sort().join('\n');
}
