import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomId } from '../src/requests/random-ids.ts';

test('random ids have the asked length, are never all zero, and do not repeat over many pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50_000; i++) {
    const n = i % 2 ? 8 : 16;
    const id = randomId(n);
    assert.equal(id.length, n);
    assert.ok(id.some((b) => b !== 0));
    const hex = Buffer.from(id).toString('hex');
    assert.ok(!seen.has(hex), `repeated id ${hex}`);
    seen.add(hex);
  }
});

test('an id handed out is a copy: later ids do not change it', () => {
  const first = randomId(16);
  const copy = Buffer.from(first);
  for (let i = 0; i < 5_000; i++) randomId(8);
  assert.deepEqual(Buffer.from(first), copy);
});
