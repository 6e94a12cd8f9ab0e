// Load generator for bench/agent-connections.ts: opens RATE TCP connections per
// second to HOST:PORT for SECONDS (connect, send one byte, close), paced in 10 ms
// slots, and prints {opened, failed, p50Ms, p99Ms} of the connect latency as JSON.
import { connect } from 'node:net';

const [host, port, rate, seconds] = process.argv.slice(2).map((x, i) => (i === 0 ? x : Number(x)));
const latencies = [];
let opened = 0, failed = 0, inflight = 0;
const start = performance.now();
const end = start + seconds * 1000;
let due = 0;

await new Promise((done) => {
  const tick = () => {
    const now = performance.now();
    if (now >= end) {
      const wait = setInterval(() => { if (inflight === 0) { clearInterval(wait); done(); } }, 10);
      return;
    }
    const target = Math.floor(((now - start) / 1000) * rate);
    while (due < target) {
      due++;
      inflight++;
      const t0 = performance.now();
      const s = connect({ host, port });
      s.on('connect', () => { latencies.push(performance.now() - t0); opened++; s.end('x'); });
      s.on('error', () => { failed++; });
      s.on('close', () => { inflight--; });
    }
    setTimeout(tick, 10);
  };
  tick();
});
latencies.sort((a, b) => a - b);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
console.log(JSON.stringify({ opened, failed, p50Ms: q(0.5), p99Ms: q(0.99) }));
