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
