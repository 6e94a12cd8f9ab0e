// A real Prometheus 2.42 scrapes two small exporters every second and remote-writes into
// Rootsight (X-API-Key of a project). Then one exporter disappears: Prometheus writes stale
// markers for its series and sends them too. The same instant and range queries, before and after
// the disappearance, must give the same answers from Prometheus' own API and from ours; in
// particular a stored stale marker must end the series (no 5-minute lookback past it) while range
// functions keep the samples before it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { removeDir, startTestServer, type TestServer } from '../../server/test/helpers.ts';
import { call, diff } from './compare.ts';
import { createIngestKey, instantRows, until } from './helpers.ts';
import { prometheusAvailable, startPrometheusWithConfig, type RunningPrometheus } from './prometheus-process.ts';
import { selfMetric, startScrapeExporter, type ScrapeExporter } from './scrape-exporter.ts';

const adminPassword = 'remote-write-test-admin';
const skip = prometheusAvailable() ? false : 'needs /usr/bin/prometheus (Debian package prometheus)';

const queries = (gone: string): string[] => [
  'rw_requests_total',
  'rw_temperature',
  'up',
  'rate(rw_requests_total[5s])',
  'increase(rw_requests_total[10s])',
  'sum by (exporter) (rate(rw_requests_total[5s]))',
  'resets(rw_requests_total[30s])',
  'histogram_quantile(0.9, sum by (le, exporter) (rate(rw_latency_seconds_bucket[5s])))',
  'count_over_time(rw_temperature[10s])',
  'last_over_time(rw_temperature[1m])',
  'max_over_time(rw_temperature[1m])',
  'changes(rw_temperature[20s])',
  'timestamp(rw_temperature)',
  'rw_temperature offset 3s',
  'count(rw_temperature)',
  'sum without (path) (rw_requests_total)',
  `absent(rw_temperature{instance="${gone}"})`,
  `rw_temperature{instance="${gone}"} or vector(-1)`,
  'rw_temperature * on (instance) group_left up',
  'scrape_samples_scraped',
];

describe('a real Prometheus remote-writing into Rootsight', { skip }, () => {
  let srv: TestServer;
  let prom: RunningPrometheus;
  let stay: ScrapeExporter, gone: ScrapeExporter;
  let goneAtMs = 0;

  before(async () => {
    srv = await startTestServer({ adminPassword });
    const key = await createIngestKey(srv.url, adminPassword);
    [stay, gone] = await Promise.all([startScrapeExporter('stay'), startScrapeExporter('gone')]);
    prom = await startPrometheusWithConfig([
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 900ms',
      'scrape_configs:',
      '  - job_name: rw',
      '    static_configs:',
      `      - targets: ['${stay.target}', '${gone.target}']`,
      'remote_write:',
      `  - url: ${srv.url}/v1/metrics`,
      '    headers:',
      `      X-API-Key: ${key}`,
      '    queue_config:',
      // One shard sends in order, so "highest timestamp sent" means everything before it arrived.
      '      min_shards: 1',
      '      max_shards: 1',
      '      batch_send_deadline: 200ms',
      '      min_backoff: 50ms',
      '',
    ].join('\n'));
  });

  after(async () => {
    await prom?.stop();
    await Promise.all([stay?.close(), gone?.close()]);
    if (srv) { await srv.close(); removeDir(srv.dataDir); }
  });

  /** Waits until Prometheus has sent (and we have acknowledged) every sample up to `ms`. */
  async function sentUpTo(ms: number): Promise<void> {
    let last: number | undefined;
    await until(`Prometheus to remote-write samples up to ${new Date(ms).toISOString()}`, 60_000, async () => {
      last = await selfMetric(prom.url, 'prometheus_remote_storage_queue_highest_sent_timestamp_seconds');
      return last !== undefined && last * 1000 >= ms ? true : undefined;
    }, () => `highest sent ${last}; server log: ${srv.logs.slice(-3).join(' | ')}; prometheus: ${prom.stderr().slice(-500)}`);
  }

  async function compareAll(label: string, instantSec: number[], ranges: { start: number; end: number; step: number }[]): Promise<void> {
    const failures: string[] = [];
    for (const q of queries(gone.target)) {
      for (const t of instantSec) {
        const p = { query: q, time: String(t) };
        const d = diff(await call(prom.url, '/api/v1/query', p), await call(srv.url, '/prometheus/api/v1/query', p));
        if (d) failures.push(`${q} @${t}: ${d}`);
      }
      for (const r of ranges) {
        const p = { query: q, start: String(r.start), end: String(r.end), step: String(r.step) };
        const d = diff(await call(prom.url, '/api/v1/query_range', p), await call(srv.url, '/prometheus/api/v1/query_range', p));
        if (d) failures.push(`${q} range ${r.start}..${r.end} step ${r.step}: ${d}`);
      }
    }
    assert.deepEqual(failures, [], `${label}: answers differ:\n${failures.join('\n')}`);
  }

  it('scraped samples arrive and both APIs agree while both targets are up', async () => {
    await until('8 scrapes of each exporter', 60_000, async () => (stay.scrapes() >= 8 && gone.scrapes() >= 8 ? true : undefined));
    const t = (Date.now() - 1500) / 1000;
    await sentUpTo(t * 1000 + 1000);
    const ours = await instantRows(`${srv.url}/prometheus`, 'rw_temperature', t);
    assert.equal(ours.length, 2, `both exporters' gauge is in Rootsight: ${JSON.stringify(ours)}`);
    await compareAll('both up', [t, t - 2.5], [{ start: t - 6, end: t, step: 1 }, { start: t - 7.3, end: t, step: 0.7 }]);
  });

  it('after a target disappears its series end at the stale marker, as in Prometheus', async () => {
    const lastScrape = gone.scrapes();
    await gone.close();
    goneAtMs = Date.now();
    // Prometheus notices at the next failed scrape and appends stale markers for all its series.
    await until('Prometheus to see the target down', 30_000, async () => {
      const rows = await instantRows(prom.url, `up{instance="${gone.target}"}`, Date.now() / 1000);
      return rows.length === 1 && rows[0]!.value[1] === '0' ? true : undefined;
    });
    // The failed scrape's own timestamp is where the stale markers sit; the query time must be
    // after it. Counting scrapes from before the close is not enough: on a loaded machine the
    // remaining exporter's scrapes can all have happened before the failed one was noticed.
    const failedScrapeSec = Number((await instantRows(prom.url, `timestamp(up{instance="${gone.target}"})`, Date.now() / 1000))[0]!.value[1]);
    const scrapesAtDown = stay.scrapes();
    await until('3 more scrapes of the remaining exporter', 30_000, async () => (stay.scrapes() >= Math.max(lastScrape, scrapesAtDown) + 3 ? true : undefined));
    await until('the query time to pass the failed scrape', 30_000, async () => (Date.now() - 1500 > failedScrapeSec * 1000 + 500 ? true : undefined));
    const t = (Date.now() - 1500) / 1000;
    await sentUpTo(t * 1000 + 1000);

    // Within the 5-minute lookback, yet gone: the marker ended the series.
    const promNow = await instantRows(prom.url, 'rw_temperature', t);
    const ours = await instantRows(`${srv.url}/prometheus`, 'rw_temperature', t);
    assert.deepEqual(promNow.map((r) => r.metric.exporter), ['stay'], 'Prometheus itself ends the series');
    assert.deepEqual(ours.map((r) => r.metric.exporter), ['stay'], `Rootsight must end the series at the stale marker, got ${JSON.stringify(ours)}`);
    // The samples before the marker are still there for range functions.
    const lastOver = await instantRows(`${srv.url}/prometheus`, `last_over_time(rw_temperature{instance="${gone.target}"}[1m])`, t);
    assert.equal(lastOver.length, 1);
    assert.ok(!Number.isNaN(Number(lastOver[0]!.value[1])), 'the last value before the marker is a number, not the marker');

    const goneSec = goneAtMs / 1000;
    await compareAll('after the target disappeared', [t, goneSec - 1.2, goneSec + 0.4, goneSec + 1.7], [
      { start: goneSec - 8, end: t, step: 1 },
      { start: goneSec - 5.5, end: t, step: 0.3 },
    ]);
  });
});
