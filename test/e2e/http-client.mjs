// Ground-truth HTTP client for the request-tracing e2e tests: on ONE keep-alive connection, sends
// the given paths in order, each COUNT times, one request at a time, and prints per-status counts.
// With TLS=1 in the environment it speaks HTTPS (certificate not checked: tests use self-signed ones).
import * as http from 'node:http';
import * as https from 'node:https';

const [host, port, count, ...paths] = process.argv.slice(2);
const tls = process.env.TLS === '1';
const { Agent, request } = tls ? https : http;
const agent = new Agent({ keepAlive: true, maxSockets: 1, ...(tls ? { rejectUnauthorized: false } : {}) });
const statuses = {};
for (const path of paths) {
  for (let i = 0; i < Number(count); i++) {
    const code = await new Promise((resolve, reject) => {
      const req = request({ host, port: Number(port), path, agent, headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end();
    });
    statuses[code] = (statuses[code] ?? 0) + 1;
  }
}
agent.destroy();
console.log(JSON.stringify(statuses));
