// Ground-truth client for the DNS end-to-end test: asks one DNS server a plan of questions over
// UDP, one at a time, with node's resolver (c-ares) and no retries, and prints what came back for
// each question as JSON: { "<type> <name>": { "<outcome>": count } }, the outcome being "answers"
// or the resolver's error code (ENOTFOUND = NXDOMAIN, ENODATA = no records, EREFUSED, …).
//   node dns-client.mjs SERVER_IP '[["A","web.rootsight.test",5], ["PTR","192.168.223.50",2], …]'
import { Resolver } from 'node:dns/promises';

const [server, planArg] = process.argv.slice(2);
let plan;
try { plan = JSON.parse(planArg ?? ''); } catch { plan = undefined; }
if (!server || !Array.isArray(plan)) {
  console.error('usage: dns-client.mjs SERVER_IP PLAN_JSON (an array of [type, name, count])');
  process.exit(2);
}
// One try with a generous timeout: a retry would be a second request the truth does not count.
const resolver = new Resolver({ timeout: 5000, tries: 1 });
resolver.setServers([server]);
const ask = { A: (n) => resolver.resolve4(n), AAAA: (n) => resolver.resolve6(n), PTR: (ip) => resolver.reverse(ip), MX: (n) => resolver.resolveMx(n) };

const out = {};
for (const [type, name, count] of plan) {
  const key = `${type} ${name}`;
  out[key] ??= {};
  for (let i = 0; i < count; i++) {
    let outcome;
    try { await ask[type](name); outcome = 'answers'; } catch (e) { outcome = e.code ?? String(e); }
    out[key][outcome] = (out[key][outcome] ?? 0) + 1;
  }
}
console.log(JSON.stringify(out));
