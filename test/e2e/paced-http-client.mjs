// Ground-truth client for the connections-before-the-agent e2e test: opens ONE keep-alive
// connection and makes one request on it, prints "ready", then for each line "go N" on stdin
// makes N more requests on that same connection and prints their status counts as JSON. It
// fails loudly if the connection was replaced, since the test is about that one connection.
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';

const [host, port, path] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
let socket;

async function once() {
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), path, agent }, (res) => {
      if (socket && res.socket !== socket) reject(new Error('the keep-alive connection was replaced'));
      socket = res.socket;
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

await once();
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  const n = Number(/^go (\d+)$/.exec(line)?.[1] ?? NaN);
  if (!Number.isInteger(n)) break;
  const statuses = {};
  for (let i = 0; i < n; i++) {
    const code = await once();
    statuses[code] = (statuses[code] ?? 0) + 1;
  }
  console.log(JSON.stringify(statuses));
}
agent.destroy();
