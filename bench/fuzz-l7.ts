// Long fuzz run of the L7 parsers: node --import tsx bench/fuzz-l7.ts [--cases N] [--protocol p] [--seed S]
// Prints cases/s per protocol; on a failure prints the seed, case number and input hex and exits 1.
import { fuzzHpack, fuzzProtocol } from '../agent/src/l7/testdata/fuzz.ts';
import { L7_PARSERS } from '../agent/src/l7/registry.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const cases = Number(opt('cases') ?? 1_000_000);
const only = opt('protocol');
const seed = Number(opt('seed') ?? Date.now() % 2 ** 31);
console.log(`seed=${seed} cases=${cases}${only ? ` protocol=${only}` : ''}`);
let failed = false;
for (const p of L7_PARSERS) {
  if (only && p.protocol !== only) continue;
  try {
    const s = fuzzProtocol(p.protocol, cases, seed);
    console.log(`${p.protocol.padEnd(11)} ${String(Math.round((s.cases / s.ms) * 1000)).padStart(8)} cases/s  (${s.cases} cases, ${(s.ms / 1000).toFixed(1)} s, requests parsed ${s.parsedRequests}, responses ${s.parsedResponses})`);
  } catch (e) {
    failed = true;
    console.log(`${p.protocol}: FAILED\n${(e as Error).message}`);
  }
}
if (!only || only === 'hpack') {
  const t0 = performance.now();
  const n = Math.min(cases, 200_000);
  const ok = fuzzHpack(n, seed);
  console.log(`${'hpack'.padEnd(11)} ${String(Math.round((n / (performance.now() - t0)) * 1000)).padStart(8)} cases/s  (${n} blocks, ${ok} decoded)`);
}
process.exit(failed ? 1 : 0);
