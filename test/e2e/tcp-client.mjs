// Ground-truth client for the TCP end-to-end test: makes exactly N HTTP requests
// on N fresh connections to HOST:PORT and M connection attempts to HOST:REFUSED_PORT,
// one after another, and prints what it observed as JSON.
import { connect } from 'node:net';

const [host, port, refusedPort, n, m] = process.argv.slice(2);

function attempt(p) {
  return new Promise((resolve) => {
    const s = connect({ host, port: Number(p) });
    let received = 0;
    s.on('connect', () => s.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    s.on('data', (d) => { received += d.length; });
    s.on('error', (e) => resolve({ ok: false, code: e.code }));
    s.on('close', (hadError) => { if (!hadError) resolve({ ok: true, received }); });
  });
}

let ok = 0, refused = 0, other = 0, bytes = 0;
for (let i = 0; i < Number(n); i++) {
  const r = await attempt(port);
  if (r.ok) { ok++; bytes += r.received; } else other++;
}
for (let i = 0; i < Number(m); i++) {
  const r = await attempt(refusedPort);
  if (!r.ok && r.code === 'ECONNREFUSED') refused++; else other++;
}
console.log(JSON.stringify({ ok, refused, other, bytes }));
