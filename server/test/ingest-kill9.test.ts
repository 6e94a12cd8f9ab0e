// kill -9 in the middle of ingest loses nothing that was acknowledged: a real server process
// takes batches in a loop, dies by SIGKILL, restarts on the same data dir, and every batch that
// got a 200 is there, span for span.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { ClickHouseSession } from '../src/storage/clickhouse/session.ts';
import { TelemetryStore } from '../src/storage/clickhouse/telemetry-store.ts';
import { encodeTracesRequest, type SpanInput } from '../src/ingest/otlp-encode.ts';
import { removeDir, tempDataDir } from './helpers.ts';

const root = new URL('../..', import.meta.url).pathname;

function startChild(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(root, 'bin/rootsight.js'), 'server', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OTLP_GRPC_LISTEN: '127.0.0.1:0' },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening:\n${out}`)));
  });
}

const T = 1_736_000_000_000_000_000n;
const spansPerBatch = 200;

function batch(n: number): Uint8Array {
  const items: SpanInput[] = [];
  for (let i = 0; i < spansPerBatch; i++) {
    const id = n * spansPerBatch + i + 1;
    items.push({ traceId: n.toString(16).padStart(32, '0'), spanId: id.toString(16).padStart(16, '0'), name: `batch-${n}`, startNs: T + BigInt(id), endNs: T + BigInt(id) + 5n });
  }
  return encodeTracesRequest([{ attributes: { 'service.name': 'durable' }, scopes: [{ name: 's', items }] }]);
}

it('every acknowledged batch survives kill -9', { timeout: 240_000 }, async () => {
  const dataDir = tempDataDir();
  try {
    const { child, url } = await startChild(dataDir);
    const acked = new Set<number>();
    let next = 0;
    let stop = false;
    // Four concurrent senders so that kills land while inserts are in flight.
    const sender = async () => {
      while (!stop) {
        const n = next++;
        try {
          const r = await fetch(`${url}/v1/traces`, { method: 'POST', body: Buffer.from(batch(n)), headers: { 'content-type': 'application/x-protobuf' } });
          if (r.status === 200) acked.add(n);
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

    // Read the data dir directly with chDB (what a restarted server opens), then start the real server on it too.
    const db = await ClickHouseSession.open(join(dataDir, 'clickhouse'));
    let stored: Map<string, number>;
    try {
      const rows = await db.rows(`SELECT SpanName, count() FROM otel_traces GROUP BY SpanName`);
      stored = new Map(rows.map((r) => [r[0] as string, Number(r[1])]));
      const spans = await new TelemetryStore(db).selectSpans({ traceId: [...acked][0]!.toString(16).padStart(32, '0') });
      assert.equal(spans.length, spansPerBatch);
    } finally {
      await db.close();
    }
    const missing = [...acked].filter((n) => stored.get(`batch-${n}`) !== spansPerBatch);
    assert.deepEqual(missing, [], `acknowledged batches missing after kill -9 (of ${acked.size} acked, ${next} sent)`);
    console.log(`kill -9: ${acked.size} batches acked before the kill, ${next} sent, all acked present; ${stored.size} batches stored in total`);

    const again = await startChild(dataDir);
    try {
      const r = await fetch(`${again.url}/v1/traces`, { method: 'POST', body: Buffer.from(batch(100_000)), headers: { 'content-type': 'application/x-protobuf' } });
      assert.equal(r.status, 200);
    } finally {
      again.child.kill('SIGTERM');
      await new Promise((r) => again.child.once('exit', r));
    }
  } finally {
    removeDir(dataDir);
  }
});
