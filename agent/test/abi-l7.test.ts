// The kernel/user ABI: struct rs_l7_event and the enums of l7_events.h as compiled by C must match
// agent/src/kernel/l7-event-decoder.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  decodeL7Batch,
  L7_COUNTER_COUNT,
  L7_COUNTER_INDEX,
  L7_EVENT_HEADER_SIZE,
  L7_EVENT_KIND_CODES,
  L7_EVENT_OFFSETS,
  L7_FLAG_TLS,
  L7_FLAG_UNANSWERED,
  L7_FLAG_OPENED,
  L7_MAX_CHUNK,
  L7_MAX_REQUEST,
  L7_MAX_RESPONSE,
  L7_NO_STREAM,
  L7_PROTOCOL_CODES,
  type L7Record,
} from '../src/kernel/l7-event-decoder.ts';
import { L7_UNANSWERED_REASONS } from '../src/kernel/l7-loss-counters.ts';

const bpfDir = fileURLToPath(new URL('../bpf/', import.meta.url));

const PROTOCOL_ENUM: Record<string, string> = {
  unknown: 'RS_L7_UNKNOWN', http: 'RS_L7_HTTP', http2: 'RS_L7_HTTP2', postgres: 'RS_L7_POSTGRES', mysql: 'RS_L7_MYSQL',
  redis: 'RS_L7_REDIS', memcached: 'RS_L7_MEMCACHED', mongo: 'RS_L7_MONGO', kafka: 'RS_L7_KAFKA',
  rabbitmq: 'RS_L7_RABBITMQ', nats: 'RS_L7_NATS', dns: 'RS_L7_DNS', clickhouse: 'RS_L7_CLICKHOUSE',
  cassandra: 'RS_L7_CASSANDRA',
};
const KIND_ENUM: Record<string, string> = {
  request: 'RS_L7_EV_REQUEST', http2_chunk: 'RS_L7_EV_HTTP2_CHUNK', message: 'RS_L7_EV_MESSAGE', conn_close: 'RS_L7_EV_CONN_CLOSE',
};
const COUNTER_ENUM: Record<string, string> = {
  ringbufDropped: 'RS_L7_CNT_RINGBUF_DROPPED', connMapFull: 'RS_L7_CNT_CONN_MAP_FULL',
  pendingMapFull: 'RS_L7_CNT_PENDING_MAP_FULL', argsMapFull: 'RS_L7_CNT_ARGS_MAP_FULL',
  requestOverlap: 'RS_L7_CNT_REQUEST_OVERLAP', requestEvicted: 'RS_L7_CNT_REQUEST_EVICTED',
  requestTruncated: 'RS_L7_CNT_REQUEST_TRUNCATED', responseTruncated: 'RS_L7_CNT_RESPONSE_TRUNCATED',
  chunkTruncated: 'RS_L7_CNT_CHUNK_TRUNCATED', requestEvents: 'RS_L7_CNT_REQUEST_EVENTS',
  chunkEvents: 'RS_L7_CNT_CHUNK_EVENTS', tlsCalls: 'RS_L7_CNT_TLS_CALLS', tlsUnbound: 'RS_L7_CNT_TLS_UNBOUND',
};

describe('l7_events.h layout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-abi-l7-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const fields = Object.keys(L7_EVENT_OFFSETS);
  const values: Record<string, string> = {
    size: 'sizeof(struct rs_l7_event)',
    pad: 'offsetof(struct rs_l7_event, _pad)',
    noStream: 'RS_L7_NO_STREAM',
    maxRequest: 'RS_L7_MAX_REQUEST',
    maxResponse: 'RS_L7_MAX_RESPONSE',
    maxChunk: 'RS_L7_MAX_CHUNK',
    counterMax: 'RS_L7_CNT_MAX',
    dirOut: 'RS_L7_DIR_OUTBOUND',
    dirIn: 'RS_L7_DIR_INBOUND',
    ioWrite: 'RS_L7_IO_WRITE',
    ioRead: 'RS_L7_IO_READ',
    flagTls: 'RS_L7_F_TLS',
    flagOpened: 'RS_L7_F_OPENED',
    reasons: 'RS_L7_UNANSWERED_REASONS',
  };
  for (const f of fields) values[`off_${f}`] = `offsetof(struct rs_l7_event, ${f})`;
  for (const [k, e] of Object.entries(PROTOCOL_ENUM)) values[`proto_${k}`] = e;
  for (const [k, e] of Object.entries(KIND_ENUM)) values[`kind_${k}`] = e;
  for (const [k, e] of Object.entries(COUNTER_ENUM)) values[`cnt_${k}`] = e;
  L7_UNANSWERED_REASONS.forEach((r) => { values[`reason_${r}`] = `RS_L7_UNANSWERED_${r === 'stale_connection' ? 'STALE' : r === 'connection_closed' ? 'CONN_CLOSED' : r.toUpperCase()}`; });
  const program = `#include <linux/types.h>
#include <stddef.h>
#include <stdio.h>
#include "l7_events.h"
int main(void) {
  printf("{\\"_\\":0");
${Object.entries(values).map(([k, v]) => `  printf(",\\"${k}\\":%llu", (unsigned long long)(${v}));`).join('\n')}
  printf("}\\n");
  return 0;
}
`;
  writeFileSync(join(dir, 'abi.c'), program);
  execFileSync('gcc', ['-Wall', '-Werror', '-I', bpfDir, '-o', join(dir, 'abi'), join(dir, 'abi.c')]);
  const c = JSON.parse(execFileSync(join(dir, 'abi')).toString()) as Record<string, number>;

  test('header size', () => {
    assert.equal(c.size, L7_EVENT_HEADER_SIZE);
    assert.equal(c.pad, L7_EVENT_OFFSETS.local_port + 2);
    assert.equal(c.flagTls, L7_FLAG_TLS);
    assert.equal(c.flagOpened, L7_FLAG_OPENED);
  });
  for (const f of fields) {
    test(`offset of ${f}`, () => assert.equal(c[`off_${f}`], L7_EVENT_OFFSETS[f as keyof typeof L7_EVENT_OFFSETS]));
  }
  test('protocol codes', () => {
    for (const [k, v] of Object.entries(L7_PROTOCOL_CODES)) assert.equal(c[`proto_${k}`], v, k);
    assert.deepEqual(Object.keys(L7_PROTOCOL_CODES).sort(), Object.keys(PROTOCOL_ENUM).sort());
  });
  test('kind codes', () => {
    for (const [k, v] of Object.entries(L7_EVENT_KIND_CODES)) assert.equal(c[`kind_${k}`], v, k);
  });
  test('counter indexes', () => {
    for (const [k, v] of Object.entries(L7_COUNTER_INDEX)) assert.equal(c[`cnt_${k}`], v, k);
    assert.equal(c.counterMax, L7_COUNTER_COUNT);
    assert.equal(Object.keys(L7_COUNTER_INDEX).length, L7_COUNTER_COUNT);
  });
  test('unanswered reasons: the cell order of rs_l7_unanswered', () => {
    L7_UNANSWERED_REASONS.forEach((r, i) => assert.equal(c[`reason_${r}`], i, r));
    assert.equal(c.reasons, L7_UNANSWERED_REASONS.length);
  });
  test('limits, directions, io', () => {
    assert.equal(c.noStream, L7_NO_STREAM);
    assert.equal(c.maxRequest, L7_MAX_REQUEST);
    assert.equal(c.maxResponse, L7_MAX_RESPONSE);
    assert.equal(c.maxChunk, L7_MAX_CHUNK);
    assert.deepEqual([c.dirOut, c.dirIn, c.ioWrite, c.ioRead], [1, 2, 1, 2]);
  });
});

// ---------- decoder on handcrafted records ----------

function record(spec: { kind: number; protocol: number; direction?: number; io?: number; stream?: number; req?: string; resp?: string }): Buffer {
  const O = L7_EVENT_OFFSETS;
  const req = Buffer.from(spec.req ?? '');
  const resp = Buffer.from(spec.resp ?? '');
  const b = Buffer.alloc(L7_EVENT_HEADER_SIZE + req.length + resp.length);
  b.writeBigUInt64LE(1000n, O.timestamp_ns);
  b.writeBigUInt64LE(250n, O.duration_ns);
  b.writeBigUInt64LE(0xffff8881deadbeefn, O.sock_id);
  b.writeBigUInt64LE(900n, O.conn_start_ns);
  b.writeBigUInt64LE(82n, O.cgroup_id);
  b.writeBigUInt64LE(5000n, O.request_size);
  b.writeBigUInt64LE(77n, O.response_size);
  b.writeBigUInt64LE(11n, O.bytes_sent);
  b.writeBigUInt64LE(22n, O.bytes_received);
  b.writeUInt32LE(4242, O.pid);
  b.writeUInt32LE(7, O.fd);
  b.writeUInt32LE(spec.stream ?? L7_NO_STREAM, O.stream_id);
  b.writeUInt16LE(req.length, O.request_len);
  b.writeUInt16LE(resp.length, O.response_len);
  b[O.kind] = spec.kind;
  b[O.protocol] = spec.protocol;
  b[O.direction] = spec.direction ?? 1;
  b[O.io] = spec.io ?? 0;
  b[O.sock_type] = 1;
  req.copy(b, L7_EVENT_HEADER_SIZE);
  resp.copy(b, L7_EVENT_HEADER_SIZE + req.length);
  return b;
}

function frame(rec: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(rec.length);
  return Buffer.concat([h, rec]);
}

describe('decodeL7Batch', () => {
  test('the peer address the socket had: IPv4, IPv6, IPv4-mapped, none', () => {
    const O = L7_EVENT_OFFSETS;
    const withPeer = (family: number, addr: number[], port: number) => {
      const b = record({ kind: 1, protocol: 1, req: 'GET / HTTP/1.1\r\n\r\n', resp: 'HTTP/1.1 200 OK\r\n' });
      b.writeUInt16LE(family, O.peer_family);
      Buffer.from(addr).copy(b, O.peer_addr);
      b.writeUInt16LE(port, O.peer_port);
      b.writeUInt16LE(port + 1, O.local_port);
      const out: L7Record[] = [];
      decodeL7Batch(frame(b), (r) => out.push(r));
      const r = out[0]!;
      assert.ok(r.kind === 'request');
      assert.equal(r.event.localPort, port + 1);
      return r.event.peer;
    };
    assert.deepEqual(withPeer(2, [10, 0, 0, 7], 8080), { ip: '10.0.0.7', port: 8080, address: '10.0.0.7:8080' });
    assert.deepEqual(withPeer(10, [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1], 443), { ip: '2001:db8::1', port: 443, address: '[2001:db8::1]:443' });
    assert.deepEqual(withPeer(10, [...Array(10).fill(0), 0xff, 0xff, 192, 168, 1, 2], 80), { ip: '192.168.1.2', port: 80, address: '192.168.1.2:80' });
    assert.equal(withPeer(2, [10, 0, 0, 7], 0), undefined, 'port 0: not connected (unconnected UDP)');
    assert.equal(withPeer(0, [], 53), undefined, 'no family');
  });

  test('request, chunk, message and close records', () => {
    const buf = Buffer.concat([
      frame(record({ kind: 1, protocol: 1, req: 'GET / HTTP/1.1\r\n\r\n', resp: 'HTTP/1.1 200 OK\r\n' })),
      frame(record({ kind: 2, protocol: 2, direction: 2, io: 2, req: 'PRI *' })),
      frame(record({ kind: 3, protocol: 10, io: 1, req: 'PUB a 1\r\nx\r\n' })),
      frame(record({ kind: 4, protocol: 5 })),
      frame(record({ kind: 1, protocol: 11, stream: 0x1234, req: 'q', resp: 'r' })),
    ]);
    const out: L7Record[] = [];
    assert.equal(decodeL7Batch(buf, (r) => out.push(r)), 0);
    assert.deepEqual(out.map((r) => r.kind), ['request', 'http2_chunk', 'message', 'conn_close', 'request']);
    const r0 = out[0];
    assert.ok(r0.kind === 'request');
    assert.equal(r0.event.protocol, 'http');
    assert.equal(r0.event.direction, 'outbound');
    assert.equal(Buffer.from(r0.event.request).toString(), 'GET / HTTP/1.1\r\n\r\n');
    assert.equal(Buffer.from(r0.event.response).toString(), 'HTTP/1.1 200 OK\r\n');
    assert.equal(r0.event.requestSize, 5000);
    assert.equal(r0.event.responseSize, 77);
    assert.equal(r0.event.durationNs, 250);
    assert.equal(r0.event.connectionId, 0xffff8881deadbeefn);
    assert.equal(r0.event.streamId, undefined);
    const r1 = out[1];
    assert.ok(r1.kind === 'http2_chunk');
    assert.equal(r1.chunk.io, 'read');
    assert.equal(r1.chunk.direction, 'inbound');
    assert.equal(r1.chunk.data.toString(), 'PRI *');
    const r2 = out[2];
    assert.ok(r2.kind === 'message');
    assert.equal(r2.event.method, 'produce');
    const r3 = out[3];
    assert.ok(r3.kind === 'conn_close');
    assert.deepEqual([r3.close.bytesSent, r3.close.bytesReceived, r3.close.protocol], [11, 22, 'redis']);
    const r4 = out[4];
    assert.ok(r4.kind === 'request');
    assert.equal(r4.event.streamId, 0x1234);
    assert.equal(r4.event.protocol, 'dns');
  });

  test('a close record says how many requests it left unanswered: 0 without the flag, the count in stream_id, 1 from an older object', () => {
    const O = L7_EVENT_OFFSETS;
    const close = (flags: number, stream: number) => {
      const b = record({ kind: 4, protocol: 11, stream });
      b[O.flags] = flags;
      const out: L7Record[] = [];
      decodeL7Batch(frame(b), (r) => out.push(r));
      const r = out[0]!;
      assert.ok(r.kind === 'conn_close');
      return r.close.unanswered;
    };
    assert.equal(close(0, 0xffffffff), 0);
    assert.equal(close(L7_FLAG_UNANSWERED, 3), 3);
    assert.equal(close(L7_FLAG_UNANSWERED, 0xffffffff), 1);
    assert.equal(close(L7_FLAG_UNANSWERED | L7_FLAG_TLS, 1), 1);
  });

  test('bad records are skipped and counted, never thrown', () => {
    const good = record({ kind: 1, protocol: 1, req: 'GET', resp: 'HTTP' });
    const badLen = Buffer.from(good);
    badLen.writeUInt16LE(100, L7_EVENT_OFFSETS.request_len);
    const buf = Buffer.concat([
      frame(good.subarray(0, 50)),
      frame(badLen),
      frame(record({ kind: 9, protocol: 1 })),
      frame(record({ kind: 1, protocol: 99 })),
      frame(record({ kind: 1, protocol: 1, direction: 0 })),
      frame(good),
    ]);
    const out: L7Record[] = [];
    assert.equal(decodeL7Batch(buf, (r) => out.push(r)), 5);
    assert.equal(out.length, 1);
    const huge = Buffer.alloc(8);
    huge.writeUInt32LE(0xffffffff);
    assert.equal(decodeL7Batch(huge, () => assert.fail()), 1);
  });
});
