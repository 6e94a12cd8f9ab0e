// Ground-truth gRPC client for the request-tracing e2e test: on ONE channel (one HTTP/2
// connection, many streams), makes unary calls to grpc-server.mjs asking for given statuses and
// prints how many calls ended with each status, by name, as the client library saw them.
// Arguments: <host> <port> <code>:<count>... Calls go out in waves of up to 8 concurrent streams
// so that HPACK dynamic-table state and interleaved streams are exercised; every fifth call
// carries a 9000-byte field (echoed back when it succeeds), so some writes span several of the
// agent's 4 KiB capture pieces.
import * as grpc from '@grpc/grpc-js';
import { outcomeClient, statusNames as names } from './outcome-service.mjs';

const [host, port, ...plan] = process.argv.slice(2);
if (!host || !port || plan.length === 0) {
  console.error('usage: grpc-client.mjs <host> <port> <code>:<count>...');
  process.exit(2);
}
const client = outcomeClient(host, port);
// Round-robin over the requested codes, so that consecutive streams answer differently.
const remaining = plan.map((item) => item.split(':').map(Number));
const calls = [];
while (remaining.some(([, n]) => n > 0)) {
  for (const r of remaining) if (r[1] > 0) { calls.push(r[0]); r[1]--; }
}

const seen = {};
const answer = (code, seq) => new Promise((resolve) => {
  client.Answer({ code, seq, pad: seq % 5 === 0 ? 'p'.repeat(9000) : '' }, (err) => {
    const status = names[err ? err.code : grpc.status.OK];
    seen[status] = (seen[status] ?? 0) + 1;
    resolve();
  });
});
for (let i = 0; i < calls.length; i += 8) {
  await Promise.all(calls.slice(i, i + 8).map((code, j) => answer(code, i + j)));
}
client.close();
console.log(JSON.stringify(seen));
