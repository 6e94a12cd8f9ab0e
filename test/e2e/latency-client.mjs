// Ground-truth client for the latency e2e test: on one keep-alive connection, requests each path
// COUNT times in turn, one at a time, and prints every request's latency in milliseconds, from
// writing the request to the last byte of the response.
import { Agent, request } from 'node:http';

const [host, port, count, ...paths] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const latencies = [];
for (const path of paths) {
  for (let i = 0; i < Number(count); i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((resolve, reject) => {
      const req = request({ host, port: Number(port), path, agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}
agent.destroy();
console.log(JSON.stringify(latencies));
