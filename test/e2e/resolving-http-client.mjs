// Ground-truth client for the FQDN-mode e2e test: for each NAME in turn, resolves its A records at
// DNS_SERVER (node's resolver, one try) and at once makes one HTTP request, each on a new
// connection, to every address answered; prints {"answers": {name: [addresses]}, "statuses": {"200": n}}.
//   node resolving-http-client.mjs DNS_SERVER PORT NAME...
// No pause after an answer: it reaches the agent through one ring buffer and the connect, a
// moment later, through another, which the agent may apply first; it must name the connect all the same.
import { Resolver } from 'node:dns/promises';
import * as http from 'node:http';

const [server, port, ...names] = process.argv.slice(2);
const resolver = new Resolver({ timeout: 5000, tries: 1 });
resolver.setServers([server]);
const answers = {};
const statuses = {};
for (const name of names) {
  const addresses = await resolver.resolve4(name);
  answers[name] = [...addresses].sort();
  for (const address of addresses) {
    const status = await new Promise((resolve, reject) => {
      const req = http.request({ host: address, port: Number(port), path: '/', agent: false, headers: { host: name } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end();
    });
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
}
console.log(JSON.stringify({ answers, statuses }));
