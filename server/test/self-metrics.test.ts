// GET /metrics, the server's own metrics: scraped around remote writes and queries, parsed as
// Prometheus text, and checked to move the way the reads made them move (head hits for recent
// data, cache misses then hits for older data read twice, the insert backlog draining to 0).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { push, removeDir, series, startTestServer, tempDataDir, type TestServer } from './helpers.ts';

interface Scrape { contentType: string; text: string; values: Map<string, number>; types: Map<string, string>; helps: Set<string> }

/** A small exposition-format reader: `name{labels} value` lines plus HELP and TYPE. */
async function scrape(url: string): Promise<Scrape> {
  const r = await fetch(`${url}/metrics`);
  const text = await r.text();
  assert.equal(r.status, 200, text);
  const values = new Map<string, number>(), types = new Map<string, string>(), helps = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const help = /^# HELP (\S+) \S/.exec(line);
    if (help) { helps.add(help[1]!); continue; }
    const type = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
    if (type) { types.set(type[1]!, type[2]!); continue; }
    const sample = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(sample, `not an exposition line: ${JSON.stringify(line)}`);
    values.set(sample[1]!, sample[2] === '+Inf' ? Infinity : sample[2] === '-Inf' ? -Infinity : Number(sample[2]));
  }
  return { contentType: r.headers.get('content-type') ?? '', text, values, types, helps };
}

function value(s: Scrape, name: string): number {
  const v = s.values.get(`rootsight_server_${name}`);
  assert.ok(v !== undefined, `rootsight_server_${name} in\n${s.text}`);
  return v;
}

async function rangeQuery(url: string, q: string, startMs: number, endMs: number): Promise<number> {
  const params = new URLSearchParams({ query: q, start: String(startMs / 1000), end: String(endMs / 1000), step: '60' });
  const r = await fetch(`${url}/prometheus/api/v1/query_range?${params}`);
  const body = (await r.json()) as { status: string; data: { result: { values: unknown[] }[] } };
  assert.equal(body.status, 'success');
  return body.data.result[0]?.values.length ?? 0;
}

describe('GET /metrics (the server\'s own metrics)', () => {
  const dataDir = tempDataDir();
  let srv: TestServer;
  const window = 2 * 3600_000;
  // Older than anything live, so its windows are cacheable at once.
  const oldBase = (Math.floor(Date.now() / window) - 3) * window;
  const minutes = (from: number, n: number): [number, number][] => Array.from({ length: n }, (_, i) => [from + i * 60_000, i]);

  before(async () => {
    // Written by an earlier process, 3 h of it: the restarted server's head replays the last 2 h
    // stored and covers only what comes after their start.
    const first = await startTestServer({ dataDir });
    assert.equal((await push(first.url, [series('self_old', { job: 'a' }, minutes(oldBase, 180))])).status, 204);
    await first.close();
    srv = await startTestServer({ dataDir });
  });

  after(async () => {
    await srv?.close();
    removeDir(dataDir);
  });

  it('is Prometheus text with HELP and TYPE for every family, prefixed, counters ending in _total', async () => {
    const s = await scrape(srv.url);
    assert.equal(s.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const families = [...s.types.keys()];
    assert.ok(families.length >= 20, families.join(' '));
    for (const f of families) {
      assert.match(f, /^rootsight_server_/);
      assert.ok(s.helps.has(f), `HELP for ${f}`);
      assert.equal(s.types.get(f) === 'counter', f.endsWith('_total'), `${f} is a ${s.types.get(f)}`);
    }
    for (const series of s.values.keys()) assert.ok(s.types.has(series.replace(/\{.*$/, '')), `TYPE for ${series}`);
    assert.ok(value(s, 'process_resident_memory_bytes') > 10e6);
    assert.ok(value(s, 'process_heap_used_bytes') > 1e6);
    assert.ok(value(s, 'promql_sample_cache_max_samples') === 4_000_000);
    assert.equal(s.values.get('rootsight_server_ingest_queue_max_bytes{queue="traces"}'), 64 * 1024 * 1024);
    // The restarted head answers only after the start of the 2 h it replayed.
    assert.equal(value(s, 'promql_head_complete_after_seconds'), (oldBase + 59 * 60_000) / 1000);
    assert.equal(value(s, 'promql_head_samples'), 120);
  });

  it('passes promtool check metrics', { skip: existsSync('/usr/bin/promtool') ? false : 'needs /usr/bin/promtool' }, async () => {
    const { text } = await scrape(srv.url);
    const out = await new Promise<string>((resolve, reject) => {
      const child = execFile('/usr/bin/promtool', ['check', 'metrics'], (err, stdout, stderr) => (err ? reject(new Error(`${stdout}${stderr}`)) : resolve(`${stdout}${stderr}`)));
      child.stdin!.end(text);
    });
    assert.equal(out.trim(), '');
  });

  it('moves with remote write and queries: head hits, cache misses then hits, backlog back to 0', async () => {
    const s0 = await scrape(srv.url);

    // Older data, read twice: the head cannot answer, the first read fills the cache, the second hits it.
    assert.equal(await rangeQuery(srv.url, 'self_old', oldBase, oldBase + 29 * 60_000), 30);
    const s1 = await scrape(srv.url);
    assert.ok(value(s1, 'promql_head_misses_total') > value(s0, 'promql_head_misses_total'), 'head miss for old data');
    assert.ok(value(s1, 'promql_sample_cache_misses_total') > value(s0, 'promql_sample_cache_misses_total'), 'first read misses the cache');
    assert.ok(value(s1, 'promql_sample_cache_entries') >= 1);
    assert.ok(value(s1, 'promql_sample_cache_samples') >= 30);
    assert.equal(await rangeQuery(srv.url, 'self_old', oldBase, oldBase + 29 * 60_000), 30);
    const s2 = await scrape(srv.url);
    assert.ok(value(s2, 'promql_sample_cache_hits_total') > value(s1, 'promql_sample_cache_hits_total'), 'repeated read hits the cache');
    assert.equal(value(s2, 'promql_sample_cache_misses_total'), value(s1, 'promql_sample_cache_misses_total'));

    // Recent data, written to this server: the head holds it and answers.
    const recent = Math.floor(Date.now() / 60_000) * 60_000 - 20 * 60_000;
    assert.equal((await push(srv.url, [series('self_new', { job: 'b' }, minutes(recent, 10))])).status, 204);
    assert.equal(await rangeQuery(srv.url, 'self_new', recent, recent + 9 * 60_000), 10);
    const s3 = await scrape(srv.url);
    assert.ok(value(s3, 'promql_head_hits_total') > value(s2, 'promql_head_hits_total'), 'head hit for recent data');
    assert.ok(value(s3, 'promql_head_series') >= 1);
    assert.ok(value(s3, 'promql_head_samples') >= 10);
    // The query waited for the write to be stored, so nothing acknowledged is left to insert.
    assert.equal(value(s3, 'metrics_insert_backlog_bytes'), 0);
  });
});
