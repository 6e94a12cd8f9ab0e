// Ground-truth HTTP client for the request-tracing e2e test: on ONE keep-alive connection, sends
// the given paths in order, each COUNT times, one request at a time, and prints per-status counts.
import { Agent, request } from 'node:http';

const [host, port, count, ...paths] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
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
