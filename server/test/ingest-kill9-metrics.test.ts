// kill -9 in the middle of remote write loses nothing that was acknowledged: remote write on chDB
// is answered once a batch is in the journal, not yet in chDB, so this checks that a restarted
// server inserts what the dead one had journaled, and that queries then see every acked sample.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { encodeWriteRequest, snappyCompress } from '@rootsight/common';
import { removeDir, series, tempDataDir } from './helpers.ts';

const root = new URL('../..', import.meta.url).pathname;

function startChild(dataDir: string): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [join(root, 'bin/rootsight.js'), 'server', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OTLP_GRPC_LISTEN: '127.0.0.1:0' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, output: () => out });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening:\n${out}`)));
  });
}

const T0 = Date.now() - 3600_000;
const seriesPerBatch = 50;
const samplesPerSeries = 20;

/** Batch n: its own metric name, 50 series × 20 samples whose values sum to a known total. */
function batch(n: number): Uint8Array {
  const ts = [];
  for (let k = 0; k < seriesPerBatch; k++) {
    const samples: [number, number][] = [];
    for (let j = 0; j < samplesPerSeries; j++) samples.push([T0 + j * 1000, 1]);
    ts.push(series(`durable_${n}`, { k: String(k) }, samples));
  }
  return snappyCompress(encodeWriteRequest({ timeseries: ts, metadata: [] }));
}

it('every acknowledged remote-write batch survives kill -9 and is queryable after restart', { timeout: 240_000 }, async () => {
  const dataDir = tempDataDir();
  try {
    const { child, url } = await startChild(dataDir);
    const acked = new Set<number>();
    let next = 0;
    let stop = false;
    const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' };
    const sender = async () => {
      while (!stop) {
        const n = next++;
        try {
          const r = await fetch(`${url}/v1/metrics`, { method: 'POST', body: Buffer.from(batch(n)), headers });
          if (r.status === 204) acked.add(n);
          await r.arrayBuffer();
        } catch {
          return; // connection died with the server
        }
      }
    };
    const senders = [sender(), sender(), sender(), sender()];
    const deadline = Date.now() + 60_000;
    while (acked.size < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    stop = true;
    await Promise.all(senders);
    assert.ok(acked.size >= 60, `only ${acked.size} batches acked before the kill`);

    const again = await startChild(dataDir);
    try {
      // Series per batch, at the batch's last sample time.
      const q = new URLSearchParams({ query: 'count by (__name__) ({__name__=~"durable_.*"})', time: String((T0 + (samplesPerSeries - 1) * 1000) / 1000) });
      const r = await fetch(`${again.url}/prometheus/api/v1/query?${q}`);
      const body = (await r.json()) as { data: { result: { metric: { __name__: string }; value: [number, string] }[] } };
      assert.equal(r.status, 200, JSON.stringify(body));
      const stored = new Map(body.data.result.map((s) => [s.metric.__name__, Number(s.value[1])]));
      const missing = [...acked].filter((n) => stored.get(`durable_${n}`) !== seriesPerBatch);
      assert.deepEqual(missing, [], `acknowledged batches missing after kill -9 (of ${acked.size} acked, ${next} sent)`);
      const samples = new URLSearchParams({ query: `sum(count_over_time(durable_${[...acked][0]}[2h]))`, time: String(Date.now() / 1000) });
      const s = (await (await fetch(`${again.url}/prometheus/api/v1/query?${samples}`)).json()) as { data: { result: { value: [number, string] }[] } };
      assert.equal(Number(s.data.result[0]!.value[1]), seriesPerBatch * samplesPerSeries);
      const replayed = /inserted (\d+) acknowledged metrics file/.exec(again.output())?.[1] ?? '0';
      console.log(`kill -9: ${acked.size} remote-write batches acked before the kill, ${next} sent, all acked present; ${stored.size} stored; ${replayed} journal files inserted at restart`);
    } finally {
      again.child.kill('SIGTERM');
      await new Promise((r) => again.child.once('exit', r));
    }
  } finally {
    removeDir(dataDir);
  }
});
