// RequestPipeline: which container and which peer a request is recorded under when the process
// table and the TCP table lag behind the L7 events (retries while waiting for the peer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { L7Event } from '../src/kernel/l7-event-decoder.ts';
import type { ConnectionPeer } from '../src/net/tcp-connection-table.ts';
import { RequestMetrics } from '../src/requests/request-metrics.ts';
import { RequestPipeline } from '../src/requests/request-pipeline.ts';

function pgMessage(type: string, body: string): Buffer {
  const b = Buffer.alloc(5 + body.length);
  b.write(type, 0, 'latin1');
  b.writeUInt32BE(4 + body.length, 1);
  b.write(body, 5, 'latin1');
  return b;
}

const query: L7Event = {
  protocol: 'postgres', direction: 'outbound', pid: 4242, fd: 7, cgroupId: 99, connectionId: 0xffff8881n, connectionStartNs: 1,
  timestampNs: 2_000_000, sockType: 'stream', tls: false, opened: true, localPort: 40000, durationNs: 1000,
  request: pgMessage('Q', 'SELECT 1\0'), requestSize: 14, response: pgMessage('C', 'SELECT 1\0'), responseSize: 14,
};

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function counted(metrics: RequestMetrics): Array<Record<string, string | number>> {
  return metrics.collect().filter((f) => f.name === 'container_postgres_queries_total')
    .flatMap((f) => f.samples.map((s) => ({ ...s.labels, value: s.value })));
}

test('a peer learnt for the other direction (a reused struct sock) is not the request\'s peer: the request waits for its own', async () => {
  const metrics = new RequestMetrics();
  const serverSide: ConnectionPeer = { ip: '10.0.0.11', port: 40000, address: '10.0.0.11:40000', direction: 'inbound' };
  const clientSide: ConnectionPeer = { ip: '10.0.0.10', port: 5432, address: '10.0.0.10:5432', direction: 'outbound' };
  let lookups = 0;
  const pipeline = new RequestPipeline({
    containerOf: () => '/docker/client',
    // First the table still holds the accepted socket that had this address before; then the connect lands.
    peerOf: () => (lookups++ === 0 ? serverSide : clientSide),
    resourceOf: (containerId) => ({ serviceName: containerId, containerId, hostName: 'h', hostId: 'h' }),
    metrics,
  });
  pipeline.onRequest(query);
  const series = await until('the request to be recorded', () => (counted(metrics).length ? counted(metrics) : undefined));
  assert.deepEqual(series, [{ container_id: '/docker/client', destination: '10.0.0.10:5432', actual_destination: '10.0.0.10:5432', status: 'ok', value: 1 }]);
  assert.equal(lookups, 2);
});

test('a request waiting for its peer keeps the container it was named with, though its process has exited since', async () => {
  const metrics = new RequestMetrics();
  let ownerLookups = 0, peerLookups = 0;
  const pipeline = new RequestPipeline({
    // The process table forgets a short-lived client once it exits.
    containerOf: () => (ownerLookups++ === 0 ? '/docker/client' : undefined),
    peerOf: () => (peerLookups++ === 0 ? undefined : { ip: '10.0.0.10', port: 5432, address: '10.0.0.10:5432', direction: 'outbound' }),
    resourceOf: (containerId) => ({ serviceName: containerId, containerId, hostName: 'h', hostId: 'h' }),
    metrics,
  });
  pipeline.onRequest(query);
  const series = await until('the request to be recorded', () => (counted(metrics).length ? counted(metrics) : undefined));
  assert.deepEqual(series, [{ container_id: '/docker/client', destination: '10.0.0.10:5432', actual_destination: '10.0.0.10:5432', status: 'ok', value: 1 }]);
  assert.equal(pipeline.skipped.unknownOwner, 0);
  assert.equal(ownerLookups, 1, 'named once');
});
