// Ground-truth gRPC client for the connections-before-the-agent e2e test: opens ONE channel (one
// HTTP/2 connection) to grpc-server.mjs, makes one call of each given status on it (so both sides'
// HPACK dynamic tables fill with entries the agent will never see), prints "ready", then for each
// line "go" on stdin makes the given calls again, one after another, on that same connection and
// prints how many ended with each status, by name, as JSON.
//   node paced-grpc-client.mjs <host> <port> <code>:<count>...
import * as grpc from '@grpc/grpc-js';
import { outcomeClient, statusNames as names } from './outcome-service.mjs';
import { createInterface } from 'node:readline';

const [host, port, ...plan] = process.argv.slice(2);
if (!host || !port || plan.length === 0) {
  console.error('usage: paced-grpc-client.mjs <host> <port> <code>:<count>...');
  process.exit(2);
}
const client = outcomeClient(host, port);
const calls = plan.map((item) => item.split(':').map(Number));

const answer = (code, seq) => new Promise((resolve) => {
  client.Answer({ code, seq }, (err) => resolve(names[err ? err.code : grpc.status.OK]));
});

for (const [code] of calls) await answer(code, 0);
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== 'go') break;
  const seen = {};
  let seq = 1;
  for (const [code, n] of calls) {
    for (let i = 0; i < n; i++) {
      const status = await answer(code, seq++);
      seen[status] = (seen[status] ?? 0) + 1;
    }
  }
  console.log(JSON.stringify(seen));
}
client.close();
