// Ground-truth client for the FQDN-mode e2e test: resolves NAME's A records at DNS_SERVER (node's
// resolver, one try), waits a moment, then makes COUNT HTTP requests, each on a new connection, to
// the answered addresses in turn, and prints {"addresses": [...], "statuses": {"200": n}}.
//   node resolving-http-client.mjs DNS_SERVER NAME PORT COUNT
import { Resolver } from 'node:dns/promises';
import * as http from 'node:http';

const [server, name, port, count] = process.argv.slice(2);
const resolver = new Resolver({ timeout: 5000, tries: 1 });
resolver.setServers([server]);
const addresses = await resolver.resolve4(name);
// The answer reaches the agent through one ring buffer, the connects through another: give it a
// head start, as any client that resolves once and connects later does.
await new Promise((r) => setTimeout(r, 300));
const statuses = {};
for (let i = 0; i < Number(count); i++) {
  const status = await new Promise((resolve, reject) => {
    const req = http.request({ host: addresses[i % addresses.length], port: Number(port), path: '/', agent: false, headers: { host: name } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
  statuses[status] = (statuses[status] ?? 0) + 1;
}
console.log(JSON.stringify({ addresses: addresses.sort(), statuses }));
