// When storage falls behind, ingest refuses with 429 + Retry-After (gRPC RESOURCE_EXHAUSTED)
// instead of queueing without bound; what it accepted is stored once storage catches up.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Client, Metadata, credentials, status as grpcStatus } from '@grpc/grpc-js';
import { encodeTracesRequest, type SpanInput } from '../src/ingest/otlp-encode.ts';
import { removeDir, startTestServer, type TestServer } from './helpers.ts';

const queueBytes = 2 * 1024 * 1024;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapUsed(): number {
  gc();
  return process.memoryUsage().heapUsed;
}
let server: TestServer;
let gate: (() => void) | undefined;
let slow = true;

before(async () => {
  server = await startTestServer({
    otlpGrpcListen: '127.0.0.1:0',
    telemetry: {
      queueBytesPerSignal: queueBytes,
      // The storage stalls until the test opens the gate.
      beforeInsert: async () => { if (slow) await new Promise<void>((r) => { gate = r; }); },
    },
  });
});
after(async () => {
  slow = false;
  gate?.();
  await server.close();
  removeDir(server.dataDir);
});

const T = 1_736_000_000_000_000_000n;
function body(batch: number): Uint8Array {
  const items: SpanInput[] = [];
  for (let i = 0; i < 500; i++) {
    const id = batch * 1000 + i + 1;
    items.push({ traceId: id.toString(16).padStart(32, '0'), spanId: id.toString(16).padStart(16, '0'), name: 'op', startNs: T, endNs: T + 1n, attributes: { payload: 'x'.repeat(200) } });
  }
  return encodeTracesRequest([{ attributes: { 'service.name': 'bp' }, scopes: [{ name: 's', items }] }]);
}

it('answers 429 with Retry-After while storage is stalled, keeps memory bounded, and stores what it acked', async () => {
  const heapBefore = heapUsed();
  const pending: Promise<Response>[] = [];
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 200; i++) {
    const p = fetch(`${server.url}/v1/traces`, { method: 'POST', body: Buffer.from(body(i)), headers: { 'content-type': 'application/x-protobuf' } });
    pending.push(p);
    // Don't wait for accepted requests (they wait for storage); refused ones come back at once.
    const r = await Promise.race([p, new Promise<undefined>((res) => setTimeout(res, 300))]);
    if (r) {
      statuses.push(r.status);
      if (r.status === 429) retryAfter ??= r.headers.get('retry-after');
    }
  }
  const stats = server.telemetry!.stats().find((s) => s.name === 'traces')!;
  assert.ok(statuses.filter((s) => s === 429).length > 100, `most requests refused at once: ${statuses.filter((s) => s === 429).length} of ${statuses.length} early answers were 429`);
  assert.ok(!statuses.includes(200), 'nothing acknowledged while storage is stalled');
  assert.ok(retryAfter !== null && Number(retryAfter) >= 1, `Retry-After: ${retryAfter}`);
  assert.ok(stats.peakBytes <= queueBytes + 400_000, `queued bytes stayed near the cap: peak ${stats.peakBytes}`);
  // 200 bodies of ~130 KiB decoded would be ~100+ MiB of rows; the heap stays far below that.
  const heapGrowth = heapUsed() - heapBefore;
  assert.ok(heapGrowth < 40 * 1024 * 1024, `heap grew ${heapGrowth} bytes`);

  const g = await new Promise<{ code: number; md: Metadata | undefined }>((resolve) => {
    const c = new Client(server.otlpGrpcAddress!, credentials.createInsecure());
    c.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', (b: Buffer) => b, (b: Buffer) => b, Buffer.from(body(999)), new Metadata(), (err) => {
      c.close();
      resolve({ code: err?.code ?? 0, md: err?.metadata });
    });
  });
  assert.equal(g.code, grpcStatus.RESOURCE_EXHAUSTED);
  assert.ok(g.md?.get('grpc-status-details-bin').length, 'RetryInfo details');

  // Open the storage: every request that was not refused is acknowledged, and all acked spans are there.
  slow = false;
  gate?.();
  const all = await Promise.all(pending);
  const acked = all.filter((r) => r.status === 200).length;
  assert.equal(acked + all.filter((r) => r.status === 429).length, 200);
  assert.ok(acked >= 1);
  assert.equal(await server.telemetry!.store.count('traces'), acked * 500);
});
