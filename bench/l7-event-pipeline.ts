// Micro-benchmark of the agent's user-space hot path for L7 requests, without the kernel: framed
// ring-buffer batches of HTTP request records (as l7.bpf.c emits them for a keep-alive client and
// nginx) → decodeL7Batch → OrderedEventQueue → RequestPipeline → RequestMetrics, and then with
// spans as well (SpanExporter encoding OTLP; its POSTs, asynchronous, are not measured). Prints the
// cost per event, and the share of one core that 20,000 events/s (10k req/s seen on both sides) costs.
// Unlike bench/agent-http-load.ts this runs fine on a busy machine: it measures CPU time.
//
//   node --import tsx bench/l7-event-pipeline.ts [--events 400000] [--repeat 5]
import { decodeL7Batch, L7_EVENT_HEADER_SIZE, L7_EVENT_OFFSETS as O, L7_NO_STREAM, type L7Event } from '../agent/src/kernel/l7-event-decoder.ts';
import { OrderedEventQueue } from '../agent/src/ordered-event-queue.ts';
import { RequestMetrics } from '../agent/src/requests/request-metrics.ts';
import { RequestPipeline } from '../agent/src/requests/request-pipeline.ts';
import { SpanExporter } from '../agent/src/export/span-exporter.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const EVENTS = arg('events', 400_000);
const REPEAT = arg('repeat', 5);
const BATCH_BYTES = 256 * 1024; // the native poller flushes at this size

const request = Buffer.from('GET / HTTP/1.1\r\nHost: 192.168.231.10\r\nUser-Agent: h2load nghttp2/1.52.0\r\nAccept: */*\r\n\r\n');
const response = Buffer.from('HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 22 Nov 2026 01:00:00 GMT\r\nContent-Type: application/octet-stream\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n');

function record(i: number): Buffer {
  const b = Buffer.alloc(L7_EVENT_HEADER_SIZE + request.length + response.length);
  const outbound = i % 2 === 0;
  const conn = i % 100; // 50 connections, seen from both ends
  b.writeBigUInt64LE(BigInt(1_000_000_000 + i * 50_000), O.timestamp_ns);
  b.writeBigUInt64LE(350_000n, O.duration_ns);
  b.writeBigUInt64LE(0xffff888100000000n + BigInt(conn * 4096), O.sock_id);
  b.writeBigUInt64LE(900n, O.conn_start_ns);
  b.writeBigUInt64LE(outbound ? 82n : 83n, O.cgroup_id);
  b.writeBigUInt64LE(BigInt(request.length), O.request_size);
  b.writeBigUInt64LE(BigInt(response.length), O.response_size);
  b.writeUInt32LE(outbound ? 4242 : 4343, O.pid);
  b.writeUInt32LE(10 + conn, O.fd);
  b.writeUInt32LE(L7_NO_STREAM, O.stream_id);
  b.writeUInt16LE(request.length, O.request_len);
  b.writeUInt16LE(response.length, O.response_len);
  b[O.kind] = 1;
  b[O.protocol] = 1;
  b[O.direction] = outbound ? 1 : 2;
  b[O.sock_type] = 1;
  request.copy(b, L7_EVENT_HEADER_SIZE);
  response.copy(b, L7_EVENT_HEADER_SIZE + request.length);
  return b;
}

function batches(): Buffer[] {
  const out: Buffer[] = [];
  let frames: Buffer[] = [];
  let size = 0;
  for (let i = 0; i < EVENTS; i++) {
    const r = record(i);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(r.length);
    frames.push(len, r);
    size += 4 + r.length;
    if (size >= BATCH_BYTES) { out.push(Buffer.concat(frames)); frames = []; size = 0; }
  }
  if (frames.length) out.push(Buffer.concat(frames));
  return out;
}

const input = batches();
const peer = { address: '192.168.231.10:80', ip: '192.168.231.10', port: 80 };

type Stage = 'decode' | 'pipeline' | 'pipeline+spans';

function run(stage: Stage): number {
  const metrics = new RequestMetrics();
  // Nothing listens on port 9: the exporter's POSTs fail later, outside the measured loop.
  const spans = stage === 'pipeline+spans' ? new SpanExporter({ url: 'http://127.0.0.1:9/v1/traces', scopeVersion: 'bench', log: () => {} }) : undefined;
  const pipeline = new RequestPipeline({
    containerOf: (pid) => (pid === 4242 ? '/docker/load' : '/docker/web'),
    peerOf: () => peer,
    resourceOf: (containerId) => ({ serviceName: containerId, containerId, hostName: 'bench', hostId: 'bench' }),
    metrics,
    spans,
  });
  const queue = new OrderedEventQueue<L7Event>({ pidToResolve: () => undefined, resolvePid: async () => undefined, apply: (e) => pipeline.onRequest(e) });
  let n = 0;
  const t0 = process.cpuUsage();
  for (const b of input) {
    if (stage === 'decode') decodeL7Batch(b, () => { n++; });
    else decodeL7Batch(b, (r) => { n++; if (r.kind === 'request') queue.push(r.event); });
  }
  const used = process.cpuUsage(t0);
  spans?.close();
  if (n !== EVENTS) throw new Error(`decoded ${n} of ${EVENTS} records`);
  if (stage !== 'decode') {
    const total = metrics.collect().filter((f) => f.name.endsWith('requests_total')).flatMap((f) => f.samples).reduce((a, s) => a + s.value, 0);
    if (total !== EVENTS) throw new Error(`counted ${total} of ${EVENTS} requests`);
  }
  return ((used.user + used.system) * 1000) / EVENTS; // ns per event
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`bench: ${EVENTS} HTTP request events in ${input.length} batches, ${REPEAT} runs per stage (CPU time)`);
for (const stage of ['decode', 'pipeline', 'pipeline+spans'] as const) {
  run(stage); // warm-up
  const ns = Array.from({ length: REPEAT }, () => run(stage));
  const best = Math.min(...ns), med = median(ns);
  console.log(`  ${stage.padEnd(14)} ${(best / 1000).toFixed(2)} µs/event best, ${(med / 1000).toFixed(2)} median → ${(best * 20_000 / 1e7).toFixed(1)} % of one core at 20k events/s (best)`);
}
