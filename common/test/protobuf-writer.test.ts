// Nested messages written in place (beginMessage/endMessage) must give the same bytes as the
// child-writer form, for lengths that need 1, 2 and 3 length bytes, and strings of every kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufReader, ProtobufWriter } from '../src/protobuf.ts';

const strings = ['', 'a', 'http.method', 'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(20_000), 'ünïcode välue', '日本語', 'emoji 🚀 in a span name', 'a\u0000b'];

test('in-place nested messages equal child-writer messages, at every length-prefix size', () => {
  for (const inner of strings) {
    for (const repeat of [1, 3, 200]) {
      const child = new ProtobufWriter();
      const grand = new ProtobufWriter();
      for (let i = 0; i < repeat; i++) grand.string(1, inner).uint(2, i);
      child.uint(1, 7).message(2, grand).string(3, inner);
      const viaChildren = new ProtobufWriter().string(1, 'before').message(5, child).uint(6, 9).finish();

      const w = new ProtobufWriter().string(1, 'before');
      const outer = w.beginMessage(5);
      w.uint(1, 7);
      const nested = w.beginMessage(2);
      for (let i = 0; i < repeat; i++) w.string(1, inner).uint(2, i);
      w.endMessage(nested).string(3, inner).endMessage(outer).uint(6, 9);
      assert.deepEqual(Buffer.from(w.finish()), Buffer.from(viaChildren), `string of ${inner.length} chars × ${repeat}`);
    }
  }
});

test('strings are written as UTF-8 and read back unchanged', () => {
  for (const s of strings) {
    const r = new ProtobufReader(new ProtobufWriter().string(1, s).finish());
    assert.deepEqual(r.tag(), [1, 2]);
    assert.equal(r.string(), s);
    assert.ok(r.done());
  }
});

test('an empty in-place message is a zero length', () => {
  const w = new ProtobufWriter();
  w.endMessage(w.beginMessage(3));
  assert.deepEqual([...w.finish()], [0x1a, 0x00]);
});
