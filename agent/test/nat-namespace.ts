// A network namespace with nftables DNAT rules and live connections through them, for the NAT
// resolver's test and bench: 10.77.0.99:80 and [fd77::99]:80 are sent to a server on
// 10.77.0.1:8080 / [fd77::1]:8080 inside it, and `perKind` connections of each kind stay open
// (through the IPv4 rule, through the IPv6 rule, and straight to the server).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { statSync } from 'node:fs';

export type Endpoint = [ip: string, port: number];

/** The inode of a named network namespace (/run/netns/<name>): what kernel events call it. */
export function namedNetnsInode(name: string): number {
  return statSync(`/run/netns/${name}`).ino;
}

export class NatNamespace {
  private constructor(
    readonly name: string,
    /** The client ends of the live connections, by kind. */
    readonly conns: { v4: Endpoint[]; v6: Endpoint[]; direct: Endpoint[] },
    private readonly peers: ChildProcess,
  ) {}

  static async start(perKind = 1): Promise<NatNamespace> {
    const name = `rs-nat-${randomBytes(3).toString('hex')}`;
    const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    sh('ip', 'netns', 'add', name);
    try {
      const ip = (...a: string[]) => sh('ip', '-n', name, ...a);
      ip('link', 'set', 'lo', 'up');
      ip('link', 'add', 'n0', 'type', 'veth', 'peer', 'name', 'n1');
      ip('link', 'set', 'n1', 'up');
      ip('addr', 'add', '10.77.0.1/24', 'dev', 'n0');
      ip('addr', 'add', 'fd77::1/64', 'dev', 'n0', 'nodad');
      ip('link', 'set', 'n0', 'up');
      execFileSync('ip', ['netns', 'exec', name, 'nft', '-f', '-'], {
        input: `table ip rs_nat {
  chain out { type nat hook output priority -100; ip daddr 10.77.0.99 tcp dport 80 dnat to 10.77.0.1:8080; }
}
table ip6 rs_nat {
  chain out { type nat hook output priority -100; ip6 daddr fd77::99 tcp dport 80 dnat to [fd77::1]:8080; }
}
`,
      });
      const script = `const net = require('node:net');
net.createServer((s) => s.on('error', () => {})).listen({ port: 8080, host: '::', backlog: 4096 }, async () => {
  const dial = (host, port) => new Promise((r) => { const c = net.connect(port, host, () => r(c)); });
  const out = { v4: [], v6: [], direct: [] };
  for (let i = 0; i < ${perKind}; i++) {
    for (const [k, h, p] of [['v4', '10.77.0.99', 80], ['v6', 'fd77::99', 80], ['direct', '10.77.0.1', 8080]]) { const c = await dial(h, p); out[k].push([c.localAddress.replace('::ffff:', ''), c.localPort]); }
  }
  console.log(JSON.stringify(out));
  process.stdin.on('end', () => process.exit(0)).resume();
});`;
      const peers = spawn('ip', ['netns', 'exec', name, process.execPath, '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
      let text = '';
      while (!text.endsWith('\n')) text += String((await once(peers.stdout!, 'data'))[0]);
      return new NatNamespace(name, JSON.parse(text), peers);
    } catch (err) {
      sh('ip', 'netns', 'del', name);
      throw err;
    }
  }

  close(): void {
    this.peers.stdin?.end();
    this.peers.kill();
    try { execFileSync('ip', ['netns', 'del', this.name]); } catch { /* gone */ }
  }
}
