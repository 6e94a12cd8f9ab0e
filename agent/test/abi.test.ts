// The kernel/user ABI: struct rs_tcp_event as compiled by C must match the TS decoder.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatIpv6 } from '../src/net/address.ts';
import {
  decodeTcpEventBatch,
  TCP_COUNTER_INDEX,
  TCP_EVENT_OFFSETS,
  TCP_EVENT_SIZE,
  TCP_EVENT_TYPE_CODES,
  type TcpEvent,
} from '../src/kernel/tcp-event-decoder.ts';

const bpfDir = fileURLToPath(new URL('../bpf/', import.meta.url));

describe('tcp_events.h layout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-abi-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const fields = Object.keys(TCP_EVENT_OFFSETS);
  const program = `#include <linux/types.h>
#include <stddef.h>
#include <stdio.h>
#include "tcp_events.h"
int main(void) {
  printf("{\\"size\\":%zu", sizeof(struct rs_tcp_event));
${fields.map((f) => `  printf(",\\"${f}\\":%zu", offsetof(struct rs_tcp_event, ${f}));`).join('\n')}
  printf(",\\"pad\\":%zu", offsetof(struct rs_tcp_event, _pad));
${Object.entries(TCP_EVENT_TYPE_CODES).map(([, code]) => `  printf(",\\"type${code}\\":%d", ${code});`).join('\n')}
  printf(",\\"types\\":[%d,%d,%d,%d,%d,%d,%d]", RS_TCP_CONNECT_OK, RS_TCP_CONNECT_FAIL, RS_TCP_ACCEPT, RS_TCP_CLOSE,
         RS_TCP_LISTEN_OPEN, RS_TCP_LISTEN_CLOSE, RS_TCP_RETRANSMIT);
  printf(",\\"dirs\\":[%d,%d,%d]", RS_DIR_UNKNOWN, RS_DIR_OUTBOUND, RS_DIR_INBOUND);
  printf(",\\"counters\\":[%d,%d,%d]}\\n", RS_CNT_RINGBUF_DROPPED, RS_CNT_MAP_FULL, RS_CNT_MAX);
  return 0;
}
`;
  writeFileSync(join(dir, 'abi.c'), program);
  execFileSync('gcc', ['-Wall', '-Werror', '-I', bpfDir, '-o', join(dir, 'abi'), join(dir, 'abi.c')]);
  const c = JSON.parse(execFileSync(join(dir, 'abi')).toString()) as Record<string, number> & {
    types: number[];
    dirs: number[];
    counters: number[];
  };

  test('size matches', () => {
    assert.equal(c.size, TCP_EVENT_SIZE);
    assert.equal(c.size, 120);
  });

  for (const f of fields) {
    test(`offset of ${f}`, () => {
      assert.equal(c[f], TCP_EVENT_OFFSETS[f as keyof typeof TCP_EVENT_OFFSETS]);
    });
  }

  test('padding follows direction up to comm', () => {
    assert.equal(c.pad, TCP_EVENT_OFFSETS.direction + 1);
    assert.equal(TCP_EVENT_OFFSETS.comm, TCP_EVENT_OFFSETS.direction + 8);
  });

  test('event type codes', () => {
    assert.deepEqual(c.types, [
      TCP_EVENT_TYPE_CODES.connect_ok,
      TCP_EVENT_TYPE_CODES.connect_fail,
      TCP_EVENT_TYPE_CODES.accept,
      TCP_EVENT_TYPE_CODES.close,
      TCP_EVENT_TYPE_CODES.listen_open,
      TCP_EVENT_TYPE_CODES.listen_close,
      TCP_EVENT_TYPE_CODES.retransmit,
    ]);
  });

  test('direction and counter indexes', () => {
    assert.deepEqual(c.dirs, [0, 1, 2]);
    assert.deepEqual(c.counters, [TCP_COUNTER_INDEX.ringbufDropped, TCP_COUNTER_INDEX.mapFull, 2]);
  });
});

// ---------- decoder on handcrafted records ----------

interface RecordSpec {
  type: number;
  family: number;
  saddr: number[];
  daddr: number[];
  sport?: number;
  dport?: number;
  direction?: number;
}

function record(spec: RecordSpec): Buffer {
  const O = TCP_EVENT_OFFSETS;
  const b = Buffer.alloc(TCP_EVENT_SIZE);
  b.writeBigUInt64LE(123456789n, O.timestamp_ns);
  b.writeBigUInt64LE(0xffff8881deadbeefn, O.sock_id);
  b.writeBigUInt64LE(4242n, O.cgroup_id);
  b.writeBigUInt64LE(1500n, O.duration_ns);
  b.writeBigUInt64LE(10_000_000_000n, O.bytes_sent);
  b.writeBigUInt64LE(77n, O.bytes_received);
  b.writeUInt32LE(31337, O.pid);
  b.writeUInt32LE(4026531840, O.netns);
  b.writeUInt16LE(spec.type, O.type);
  b.writeUInt16LE(spec.family, O.family);
  b.writeUInt16LE(spec.sport ?? 40000, O.sport);
  b.writeUInt16LE(spec.dport ?? 443, O.dport);
  Buffer.from(spec.saddr).copy(b, O.saddr);
  Buffer.from(spec.daddr).copy(b, O.daddr);
  b[O.direction] = spec.direction ?? 1;
  b.write('curl', O.comm, 'latin1'); // NUL-terminated by the zeroed buffer
  return b;
}

function frame(rec: Buffer, len = rec.length): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(len);
  return Buffer.concat([h, rec]);
}

function decodeAll(buf: Buffer): { events: TcpEvent[]; bad: number } {
  const events: TcpEvent[] = [];
  const bad = decodeTcpEventBatch(buf, (e) => events.push(e));
  return { events, bad };
}

const v6 = (s: string): number[] => {
  // tiny parser for test literals with at most one "::"
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
};

describe('decodeTcpEventBatch', () => {
  test('IPv4 record, all fields', () => {
    const { events, bad } = decodeAll(frame(record({ type: 1, family: 2, saddr: [10, 0, 0, 1], daddr: [192, 168, 77, 10] })));
    assert.equal(bad, 0);
    assert.deepEqual(events, [{
      type: 'connect_ok',
      timestampNs: 123456789,
      sockId: 0xffff8881deadbeefn,
      cgroupId: 4242,
      durationNs: 1500,
      bytesSent: 10_000_000_000,
      bytesReceived: 77,
      pid: 31337,
      comm: 'curl',
      netns: 4026531840,
      family: 4,
      sport: 40000,
      dport: 443,
      saddr: '10.0.0.1',
      daddr: '192.168.77.10',
      direction: 'outbound',
    } satisfies TcpEvent]);
  });

  test('IPv6 records in canonical form', () => {
    const buf = Buffer.concat([
      frame(record({ type: 3, family: 10, saddr: v6('::1'), daddr: v6('2001:db8::ff00:42:8329'), direction: 2 })),
      frame(record({ type: 4, family: 10, saddr: v6('fe80::'), daddr: v6('2001:db8:0:0:1:0:0:1'), direction: 0 })),
      frame(record({ type: 7, family: 10, saddr: v6('1:2:3:4:5:6:7:8'), daddr: v6('::') })),
      frame(record({ type: 5, family: 10, saddr: v6('2001:db8:0:1:1:1:1:1'), daddr: v6('abcd::') })),
    ]);
    const { events, bad } = decodeAll(buf);
    assert.equal(bad, 0);
    assert.deepEqual(events.map((e) => [e.type, e.family, e.saddr, e.daddr, e.direction]), [
      ['accept', 6, '::1', '2001:db8::ff00:42:8329', 'inbound'],
      ['close', 6, 'fe80::', '2001:db8::1:0:0:1', 'unknown'],
      ['retransmit', 6, '1:2:3:4:5:6:7:8', '::', 'outbound'],
      ['listen_open', 6, '2001:db8:0:1:1:1:1:1', 'abcd::', 'outbound'],
    ]);
  });

  test('IPv4-mapped IPv6 shown as IPv4', () => {
    const { events } = decodeAll(frame(record({ type: 2, family: 10, saddr: v6('::ffff:7f00:1'), daddr: v6('::ffff:c0a8:4d0b') })));
    assert.equal(events[0].saddr, '127.0.0.1');
    assert.equal(events[0].daddr, '192.168.77.11');
    assert.equal(events[0].family, 6);
    assert.equal(formatIpv6(Buffer.from(v6('::fffe:7f00:1')), 0), '::fffe:7f00:1', 'only the ::ffff:0:0/96 prefix is mapped');
    assert.equal(formatIpv6(Buffer.from(v6('1::ffff:7f00:1')), 0), '1::ffff:7f00:1');
  });

  test('truncated batch: complete records decoded, tail counted', () => {
    const good = frame(record({ type: 6, family: 2, saddr: [1, 2, 3, 4], daddr: [0, 0, 0, 0] }));
    const full = Buffer.concat([good, good]);
    for (const cut of [full.length - 1, good.length + 2, good.length + 50]) {
      const { events, bad } = decodeAll(full.subarray(0, cut));
      assert.equal(events.length, 1, `cut at ${cut}`);
      assert.equal(events[0].type, 'listen_close');
      assert.equal(bad, 1);
    }
    assert.deepEqual(decodeAll(Buffer.alloc(0)), { events: [], bad: 0 });
  });

  test('records with a wrong length or unknown type/family are skipped and counted', () => {
    const good = record({ type: 1, family: 2, saddr: [1, 1, 1, 1], daddr: [2, 2, 2, 2] });
    const buf = Buffer.concat([
      frame(good.subarray(0, 96)),
      frame(good),
      frame(Buffer.concat([good, Buffer.alloc(8)])),
      frame(record({ type: 99, family: 2, saddr: [0, 0, 0, 0], daddr: [0, 0, 0, 0] })),
      frame(record({ type: 1, family: 1, saddr: [0, 0, 0, 0], daddr: [0, 0, 0, 0] })),
      frame(Buffer.alloc(0)),
      frame(good),
    ]);
    const { events, bad } = decodeAll(buf);
    assert.equal(events.length, 2);
    assert.equal(bad, 5);
  });

  test('a huge length does not throw', () => {
    const b = Buffer.alloc(8);
    b.writeUInt32LE(0xffffffff);
    assert.deepEqual(decodeAll(b), { events: [], bad: 1 });
  });
});
