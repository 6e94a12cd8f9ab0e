// What NAT resolution costs the agent per new outbound connection: the resolver asked about live
// connections in a namespace with DNAT rules (agent/test/nat-namespace.ts), against the baseline of
// the same calls in a namespace that tracks nothing (which is not asked: one cached check). Prints
// microseconds per call for connections through a rule (translated), straight to the server (the
// entry says no translation), to tuples conntrack does not have, and the baseline, with ratios;
// then the agent CPU that means at a given connection rate.
//
//   node --import tsx bench/nat-lookups.ts [--connections 1000] [--rounds 5] [--rate 2000]
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadNativeAddon } from '../agent/src/kernel/native-addon.ts';
import { NatResolver, type OutboundConnection } from '../agent/src/net/nat-resolver.ts';
import { namedNetnsInode as inode, NatNamespace } from '../agent/test/nat-namespace.ts';
import { median } from './median.ts';
import { positiveInt } from './bench-options.ts';

const perKind = positiveInt('connections', 1000);
const rounds = positiveInt('rounds', 5);
const rate = positiveInt('rate', 2000);

if (process.getuid?.() !== 0) {
  console.log('needs root (network namespaces, nftables, conntrack over netlink)');
  process.exit(0);
}

console.log(`setting up ${perKind} live connections of each kind through nftables DNAT...`);
const nat = await NatNamespace.start(perKind);
const emptyNs = `rs-empty-${randomBytes(3).toString('hex')}`;
execFileSync('ip', ['netns', 'add', emptyNs]);
try {
  const addon = loadNativeAddon();
  const asked = (r: NatResolver, ns: string, list: OutboundConnection[]) => {
    const netns = inode(ns);
    const calls = list.map((c) => ({ ...c, netns }));
    const t0 = process.hrtime.bigint();
    let translated = 0;
    for (const c of calls) if (r.actualDestination(c) !== undefined) translated++;
    return { usPer: Number(process.hrtime.bigint() - t0) / 1000 / list.length, translated };
  };
  const kinds: [string, OutboundConnection[]][] = [
    ['translated (IPv4)', nat.conns.v4.map(([ip, port]) => ({ pid: 0, netns: 0, saddr: ip, sport: port, daddr: '10.77.0.99', dport: 80 }))],
    ['translated (IPv6)', nat.conns.v6.map(([ip, port]) => ({ pid: 0, netns: 0, saddr: ip, sport: port, daddr: 'fd77::99', dport: 80 }))],
    ['not translated', nat.conns.direct.map(([ip, port]) => ({ pid: 0, netns: 0, saddr: ip, sport: port, daddr: '10.77.0.1', dport: 8080 }))],
    ['no entry', nat.conns.direct.map(([ip, port]) => ({ pid: 0, netns: 0, saddr: ip, sport: port ^ 1, daddr: '10.77.0.2', dport: 8080 }))],
  ];
  const results = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [kind, list] of [...kinds, ['baseline: namespace tracks nothing', kinds[0]![1]] as [string, OutboundConnection[]]]) {
      const ns = kind.startsWith('baseline') ? emptyNs : nat.name;
      // A fresh resolver per kind and round, whose "host" namespace is the one under test.
      const r = new NatResolver({ netlink: { ...addon, netlinkOpen: (p) => addon.netlinkOpen(p, `/run/netns/${ns}`) }, hostNetns: inode(ns), log: (m) => console.error(m) });
      const { usPer, translated } = asked(r, ns, list);
      r.close();
      if (kind.startsWith('translated') && translated !== list.length) throw new Error(`${kind}: ${translated} of ${list.length} translated`);
      if (!kind.startsWith('translated') && translated !== 0) throw new Error(`${kind}: ${translated} translated, expected none`);
      results.set(kind, [...(results.get(kind) ?? []), usPer]);
    }
  }
  const base = median(results.get('baseline: namespace tracks nothing')!);
  console.log(`\n${perKind} connections per kind, ${rounds} rounds; µs per actualDestination() call, median of rounds (best)`);
  for (const [kind, xs] of results) {
    console.log(`${kind.padEnd(36)} ${median(xs).toFixed(2).padStart(7)} µs (${Math.min(...xs).toFixed(2)})  ×${(median(xs) / base).toFixed(1)} baseline`);
  }
  const worst = Math.max(...['translated (IPv4)', 'not translated', 'no entry'].map((k) => median(results.get(k)!)));
  console.log(`\nat ${rate} new outbound connections/s in namespaces that track connections: ~${(worst * rate / 1e4).toFixed(1)}% of one core (host and process namespace both asked: up to twice that)`);
} finally {
  nat.close();
  execFileSync('ip', ['netns', 'del', emptyNs]);
}
