import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzHpack, fuzzProtocol, replay } from '../src/l7/testdata/fuzz.ts';
import { L7_PARSERS } from '../src/l7/registry.ts';

// 100,000 cases per protocol (seeded: a failure prints seed, case and input hex; replay() reruns it).
const CASES = Number(process.env.L7_FUZZ_CASES ?? 100_000);
const SEED = Number(process.env.L7_FUZZ_SEED ?? 20261121);

for (const p of L7_PARSERS) {
  test(`fuzz ${p.protocol}: ${CASES} cases, no exception, well-shaped results`, () => {
    const s = fuzzProtocol(p.protocol, CASES, SEED);
    assert.equal(s.cases, CASES);
    // The mutations must keep reaching the parsers' deeper paths, not just their rejections.
    if (p.protocol !== 'http2') assert.ok(s.parsedRequests > CASES / 50, `${p.protocol}: only ${s.parsedRequests} requests parsed`);
    assert.ok(s.parsedResponses > CASES / 50, `${p.protocol}: only ${s.parsedResponses} responses parsed`);
  });
}

test('fuzz hpack decoder: 100,000 mutated header blocks', () => {
  assert.ok(fuzzHpack(CASES, SEED) > 0);
});

test('replay helper reruns a single input', () => {
  assert.deepEqual(replay('redis', '2a310d0a24340d0a50494e470d0a').error, undefined);
});
