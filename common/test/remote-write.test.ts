import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeWriteRequest, encodeWriteRequest, RemoteWriteDecodeError, snappyCompress, snappyUncompress, type WriteRequest,
} from '../src/remote-write.ts';

const sample: WriteRequest = {
  timeseries: [
    {
      labels: [{ name: '__name__', value: 'container_net_tcp_successful_connects_total' }, { name: 'destination', value: '[::1]:6379' }, { name: 'ünïcode', value: 'välue' }],
      samples: [{ value: 42, timestampMs: 1_763_700_000_123 }, { value: 0.5, timestampMs: -5 }],
    },
    { labels: [{ name: '__name__', value: 'up' }], samples: [{ value: Number.NaN, timestampMs: 0 }] },
  ],
  metadata: [{ type: 'counter', family: 'container_net_tcp_successful_connects_total', help: 'connects', unit: '' }],
};

test('remote write round trip through protobuf and snappy', () => {
  const wire = snappyCompress(encodeWriteRequest(sample));
  const back = decodeWriteRequest(snappyUncompress(wire, 1 << 20));
  assert.equal(back.timeseries.length, 2);
  assert.deepEqual(back.timeseries[0], sample.timeseries[0]);
  assert.ok(Number.isNaN(back.timeseries[1]!.samples[0]!.value));
  assert.deepEqual(back.metadata, sample.metadata);
});

test('truncated protobuf is a RemoteWriteDecodeError, never a crash', () => {
  const body = encodeWriteRequest(sample);
  for (let cut = 1; cut < body.length; cut++) {
    try {
      decodeWriteRequest(body.subarray(0, cut));
    } catch (e) {
      assert.ok(e instanceof RemoteWriteDecodeError, `cut ${cut}: ${String(e)}`);
    }
  }
});

test('random bytes never throw anything but RemoteWriteDecodeError', () => {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const body = encodeWriteRequest(sample);
  for (let i = 0; i < 5000; i++) {
    const b = Uint8Array.from(body);
    for (let k = 0; k < 4; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    try { decodeWriteRequest(b); } catch (e) { assert.ok(e instanceof RemoteWriteDecodeError, String(e)); }
  }
});

test('snappy refuses blocks that would exceed the cap and garbage', () => {
  const big = snappyCompress(new Uint8Array(100_000));
  assert.throws(() => snappyUncompress(big, 1000), RemoteWriteDecodeError);
  assert.throws(() => snappyUncompress(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 1000), RemoteWriteDecodeError);
});

test('label limits are enforced', () => {
  const many: WriteRequest = { timeseries: [{ labels: Array.from({ length: 300 }, (_, i) => ({ name: `l${i}`, value: 'v' })), samples: [] }], metadata: [] };
  assert.throws(() => decodeWriteRequest(encodeWriteRequest(many)), /more than 256 labels/);
});

test('snappy decompression matches snappyjs on random and repetitive blocks, into a reused buffer too', async () => {
  const snappyjs = (await import('snappyjs')).default;
  const { SnappyOutput } = await import('../src/snappy.ts');
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out = new SnappyOutput();
  for (let n = 0; n < 400; n++) {
    const len = Math.floor(rnd() * (n < 200 ? 300 : 200_000));
    const data = new Uint8Array(len);
    const alphabet = 1 + Math.floor(rnd() * (n % 3 === 0 ? 256 : 4));
    for (let i = 0; i < len; i++) data[i] = rnd() < 0.3 && i > 70 ? data[i - 1 - Math.floor(rnd() * 70)]! : Math.floor(rnd() * alphabet);
    const wire = snappyjs.compress(data);
    assert.deepEqual(snappyUncompress(wire, 1 << 20), data);
    assert.deepEqual(snappyUncompress(wire, 1 << 20, out), data);
  }
  // Copies before the start, outputs longer or shorter than declared, truncated elements.
  for (const bad of [[5, 0x01 << 2 | 1, 0x01], [2, 0x00, 0x61], [1, 0x04, 0x61, 0x62], [4, 0x0c, 0x61, 0x62], [8, 0x00, 0x61, 0x0d, 0x01, 0x00], [3, 0xf0]]) {
    assert.throws(() => snappyUncompress(Uint8Array.from(bad), 1000), RemoteWriteDecodeError, JSON.stringify(bad));
    assert.throws(() => snappyUncompress(Uint8Array.from(bad), 1000, out), RemoteWriteDecodeError, JSON.stringify(bad));
  }
});
