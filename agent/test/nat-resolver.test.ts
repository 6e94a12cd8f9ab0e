// NAT resolution against the real kernel: a network namespace with nftables DNAT rules (IPv4 and
// IPv6) and live connections through them (nat-namespace.ts); the resolver must name the real backend, in the
// host's namespace or the process's, and nothing for connections no rule translated. The
// conntrack message code is also checked byte by byte and fed hostile answers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadNativeAddon } from '../src/kernel/native-addon.ts';
import { ipBytes, splitHostPort } from '../src/net/address.ts';
import { conntrackCountRequest, conntrackGetRequest, NETLINK_NETFILTER, parseConntrackAnswer, parseConntrackCount } from '../src/net/conntrack.ts';
import { NatResolver, type OutboundConnection } from '../src/net/nat-resolver.ts';
import { TcpConnectionTable } from '../src/net/tcp-connection-table.ts';
import { namedNetnsInode as inode, NatNamespace } from './nat-namespace.ts';

const emptyNs = `rs-empty-${randomBytes(3).toString('hex')}`;
const procRoot = mkdtempSync(join(tmpdir(), 'rootsight-nat-proc-'));
const PID = 4242;
let nat: NatNamespace;
let natNs: string;
let conns: { v4: [string, number]; v6: [string, number]; direct: [string, number] };
const addon = loadNativeAddon();

before(async () => {
  execFileSync('ip', ['netns', 'add', emptyNs]);
  nat = await NatNamespace.start();
  natNs = nat.name;
  conns = { v4: nat.conns.v4[0]!, v6: nat.conns.v6[0]!, direct: nat.conns.direct[0]! };
  mkdirSync(join(procRoot, '1/ns'), { recursive: true });
  mkdirSync(join(procRoot, `${PID}/ns`), { recursive: true });
});

after(() => {
  nat?.close();
  try { execFileSync('ip', ['netns', 'del', emptyNs]); } catch { /* gone */ }
  rmSync(procRoot, { recursive: true, force: true });
});

/** A /proc where pid 1 (the host) lives in hostNs and PID in natNs. */
function resolverWithHost(hostNs: string, root = procRoot) {
  for (const [pid, ns] of [[1, hostNs], [PID, natNs]] as const) {
    rmSync(join(root, `${pid}/ns/net`), { force: true });
    symlinkSync(`/run/netns/${ns}`, join(root, `${pid}/ns/net`));
  }
  const logs: string[] = [];
  return { r: new NatResolver({ netlink: addon, hostNetns: inode(hostNs), procRoot: root, log: (m) => logs.push(m) }), logs };
}

const conn = (c: [string, number], daddr: string, dport: number) => ({ pid: PID, netns: inode(natNs), saddr: c[0], sport: c[1], daddr, dport });

test('a DNAT in the process\'s own namespace: found after the host namespace, which tracks nothing, is skipped', () => {
  const { r, logs } = resolverWithHost(emptyNs);
  assert.equal(r.actualDestination(conn(conns.v4, '10.77.0.99', 80)), '10.77.0.1:8080');
  assert.equal(r.actualDestination(conn(conns.v6, 'fd77::99', 80)), '[fd77::1]:8080');
  assert.equal(r.actualDestination(conn(conns.direct, '10.77.0.1', 8080)), undefined, 'not translated: no actual destination of its own');
  assert.equal(r.actualDestination(conn([conns.v4[0], conns.v4[1] + 1], '10.77.0.99', 80)), undefined, 'no such connection');
  assert.deepEqual(r.stats, { lookups: 4, translated: 2, skipped: 4, errors: 0 });
  assert.equal(r.openSockets, 2);
  assert.deepEqual(logs, []);
  r.close();
  assert.equal(r.openSockets, 0);
});

test('a DNAT in the host namespace is found there, without asking the process\'s', () => {
  const { r } = resolverWithHost(natNs);
  assert.equal(r.actualDestination({ ...conn(conns.v4, '10.77.0.99', 80), netns: inode(natNs) }), '10.77.0.1:8080');
  assert.equal(r.actualDestination({ ...conn(conns.v6, 'fd77::99', 80), pid: 0, netns: 0 }), '[fd77::1]:8080');
  assert.deepEqual(r.stats, { lookups: 2, translated: 2, skipped: 0, errors: 0 });
  assert.equal(r.openSockets, 1);
  r.close();
});

test('connections older than the agent: looked up once when taken in, then found by dialled address and local port', () => {
  const { r } = resolverWithHost(emptyNs);
  const table = new TcpConnectionTable({ containerOf: () => '/x', isHostNetns: () => false }, { ephemeralPorts: [], nat: r });
  const existing = (c: OutboundConnection) => ({ ...c, containerId: '/docker/client' });
  table.addExisting([existing(conn(conns.v4, '10.77.0.99', 80)), existing(conn(conns.v6, 'fd77::99', 80)), existing(conn(conns.direct, '10.77.0.1', 8080))]);
  assert.equal(r.stats.lookups, 3);
  assert.equal(table.existingActualDestination('10.77.0.99:80', conns.v4[1]), '10.77.0.1:8080');
  assert.equal(table.existingActualDestination('[fd77::99]:80', conns.v6[1]), '[fd77::1]:8080');
  assert.equal(table.existingActualDestination('10.77.0.1:8080', conns.direct[1]), undefined, 'not translated');
  assert.equal(table.existingActualDestination('10.77.0.99:80', conns.v4[1] + 1), undefined, 'another local port');
  assert.equal(r.stats.lookups, 3, 'answers come from memory');
  r.close();
});

test('a process gone before its lookup, and a namespace that cannot be entered, cost nothing and do not throw', () => {
  const { r, logs } = resolverWithHost(emptyNs);
  assert.equal(r.actualDestination({ ...conn(conns.v4, '10.77.0.99', 80), pid: 99999 }), undefined);
  assert.equal(r.actualDestination({ ...conn(conns.v4, '10.77.0.99', 80), pid: 0 }), undefined);
  // Not a namespace file: setns refuses it, the namespace is left out and said once.
  rmSync(join(procRoot, `${PID}/ns/net`));
  symlinkSync('/dev/null', join(procRoot, `${PID}/ns/net`));
  assert.equal(r.actualDestination(conn(conns.v4, '10.77.0.99', 80)), undefined);
  assert.equal(r.actualDestination(conn(conns.v4, '10.77.0.99', 80)), undefined);
  assert.equal(logs.length, 1, logs.join('\n'));
  assert.match(logs[0]!, /NAT resolution is off for network namespace \d+: setns/);
  r.close();
});

test('the kernel answers our GET and count requests; their bytes are what ctnetlink expects', () => {
  const fd = addon.netlinkOpen(NETLINK_NETFILTER, `/run/netns/${natNs}`);
  try {
    const req = conntrackGetRequest({ src: conns.v4[0], sport: conns.v4[1], dst: '10.77.0.99', dport: 80 }, 77)!;
    // nlmsghdr: length, CTNETLINK<<8 | GET, NLM_F_REQUEST, seq; nfgenmsg AF_INET; CTA_TUPLE_ORIG (nested) first.
    assert.equal(req.readUInt32LE(0), req.length);
    assert.deepEqual([req.readUInt16LE(4), req.readUInt16LE(6), req.readUInt32LE(8), req[16]], [0x0101, 1, 77, 2]);
    assert.deepEqual([req.readUInt16LE(22) & 0x3fff, req.readUInt16LE(22) & 0x8000], [1, 0x8000]);
    const answer = addon.netlinkRequest(fd, req);
    assert.deepEqual(parseConntrackAnswer(answer, 77), { kind: 'found', replySource: { ip: '10.77.0.1', port: 8080 } });
    assert.equal(parseConntrackAnswer(answer, 78).kind, 'error', 'another request\'s answer is not taken');
    const count = parseConntrackCount(addon.netlinkRequest(fd, conntrackCountRequest(79)), 79);
    assert.ok(count !== undefined && count >= 3, `entries: ${count}`);
    // Hostile answers: every truncation and 20,000 mutations of a real one never throw.
    for (let n = 0; n < answer.length; n++) {
      const r = parseConntrackAnswer(answer.subarray(0, n), 77);
      assert.equal(r.kind, 'error', `truncated to ${n} bytes`);
    }
    let rnd = 12345;
    const next = () => (rnd = (rnd * 1103515245 + 12345) >>> 0);
    const kinds = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(answer);
      for (let k = 0; k < 1 + (next() % 4); k++) b[next() % b.length] = next() & 0xff;
      kinds.add(parseConntrackAnswer(b, 77).kind);
      parseConntrackCount(b, 77);
    }
    assert.ok(kinds.has('error') && kinds.has('found'), [...kinds].join());
    assert.equal(parseConntrackAnswer(randomBytes(4096), 77).kind, 'error');
    assert.equal(parseConntrackAnswer(Buffer.alloc(0), 77).kind, 'error');
  } finally {
    addon.netlinkClose(fd);
  }
  assert.throws(() => addon.netlinkOpen(NETLINK_NETFILTER, '/nonexistent/ns'), /open \/nonexistent\/ns: No such file/);
  assert.throws(() => addon.netlinkRequest(-1, Buffer.alloc(16)), /sendto/);
  assert.throws(() => addon.netlinkRequest(0, Buffer.alloc(3)), /shorter than a netlink header/);
});

test('addresses in text form become their bytes; mixed families make no request', () => {
  assert.deepEqual([...ipBytes('10.1.2.3')!], [10, 1, 2, 3]);
  assert.deepEqual([...ipBytes('fd77::1')!], [0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([...ipBytes('::ffff:10.0.0.1')!], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
  assert.deepEqual([...ipBytes('::')!], new Array(16).fill(0));
  assert.deepEqual([...ipBytes('1:2:3:4:5:6:7:8')!], [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  for (const bad of ['', 'x', '1.2.3', '256.1.1.1', '1::2::3', 'fd77::1%eth0']) assert.equal(ipBytes(bad), undefined, bad);
  assert.deepEqual(splitHostPort('10.0.0.1:8080'), { ip: '10.0.0.1', port: 8080 });
  assert.deepEqual(splitHostPort('[fd77::1]:443'), { ip: 'fd77::1', port: 443 });
  for (const bad of ['', ':80', '10.0.0.1', '10.0.0.1:x', '10.0.0.1:70000', 'fd77::1:443', 'host:80', '[10.0.0.1]:80']) assert.equal(splitHostPort(bad), undefined, bad);
  assert.equal(conntrackGetRequest({ src: '10.0.0.1', sport: 1, dst: 'fd77::1', dport: 2 }, 1), undefined);
  assert.equal(conntrackGetRequest({ src: 'nonsense', sport: 1, dst: '10.0.0.1', dport: 2 }, 1), undefined);
});
