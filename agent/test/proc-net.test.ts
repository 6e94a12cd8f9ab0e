import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFibTrieLocalAddresses, parseIfInet6, parseProcNetTcp } from '../src/net/proc-net-tcp.ts';
import { formatIpv6, joinHostPort, parsePortRanges, inRanges } from '../src/net/address.ts';
import { ListenTable } from '../src/net/listen-table.ts';

const tcp4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0A4DA8C0:0050 0B4DA8C0:C350 01 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 20 4 30 10 -1
garbage line
   2: ZZZZZZZZ:0050 00000000:0000 0A 0 0 0 0 0 1 1
`;
const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0 0 10 0
`;

test('parses /proc/net/tcp and tcp6, skipping garbage', () => {
  const s4 = parseProcNetTcp(tcp4);
  assert.equal(s4.length, 2);
  assert.deepEqual(s4[0], { localIp: '127.0.0.1', localPort: 8080, remoteIp: '0.0.0.0', remotePort: 0, state: 0x0a, inode: 12345 });
  assert.equal(s4[1]!.localIp, '192.168.77.10');
  assert.equal(s4[1]!.remotePort, 50000);
  const s6 = parseProcNetTcp(tcp6);
  assert.equal(s6[0]!.localIp, '::1');
  assert.equal(s6[1]!.localIp, '127.0.0.1', 'v4-mapped shown as v4');
  assert.deepEqual(parseProcNetTcp(''), []);
  assert.deepEqual(parseProcNetTcp('x'.repeat(100000)), []);
});

test('IPv6 formatting follows RFC 5952', () => {
  const b = (hex: string) => Uint8Array.from(hex.match(/../g)!.map((x) => parseInt(x, 16)));
  assert.equal(formatIpv6(b('20010db8000000000000000000000001')), '2001:db8::1');
  assert.equal(formatIpv6(b('00000000000000000000000000000000')), '::');
  assert.equal(formatIpv6(b('20010db8000100000001000000000001')), '2001:db8:1:0:1::1');
  assert.equal(joinHostPort('2001:db8::1', 443), '[2001:db8::1]:443');
  assert.equal(joinHostPort('10.0.0.1', 443), '10.0.0.1:443');
});

test('namespace addresses from fib_trie and if_inet6', () => {
  const fib = `Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 127.0.0.1
        /8 host LOCAL
     |-- 192.168.77.10
        /32 link UNICAST
        /32 host LOCAL
     |-- 192.168.77.255
        /32 link BROADCAST
Local:
     |-- 192.168.77.10
        /32 host LOCAL
`;
  assert.deepEqual(parseFibTrieLocalAddresses(fib), ['192.168.77.10']);
  assert.deepEqual(parseIfInet6('00000000000000000000000000000001 01 80 10 80       lo\nfe800000000000000000000000000001 02 40 20 80 eth0\nbad\n'), ['::1', 'fe80::1']);
});

test('port ranges', () => {
  const r = parsePortRanges('32768-60999, 8000');
  assert.ok(inRanges(40000, r) && inRanges(8000, r) && !inRanges(80, r));
  assert.throws(() => parsePortRanges('10-5'), /FROM must be <= TO/);
  assert.throws(() => parsePortRanges('abc'), /invalid port range/);
});

test('listen table: wildcard expansion, loopback only in the host netns, close and reconcile', () => {
  const t = new ListenTable();
  t.open({ netns: 100, ip: '0.0.0.0', port: 80, containerId: '/docker/web' });
  t.open({ netns: 1, ip: '127.0.0.1', port: 6379, containerId: '/host/redis-server' });
  const addrs = (ns: number) => (ns === 100 ? ['127.0.0.1', '192.168.77.10', 'fe80::1'] : ['127.0.0.1']);
  const m = t.collect(addrs, 1);
  const got = m.samples.map((s) => `${s.labels.container_id} ${s.labels.listen_addr} ${s.value}`).sort();
  assert.deepEqual(got, ['/docker/web 192.168.77.10:80 1', '/host/redis-server 127.0.0.1:6379 1']);
  assert.equal(t.ownerOf(100, '192.168.77.10', 80), '/docker/web');
  assert.equal(t.ownerOf(100, '192.168.77.10', 81), undefined);
  t.reconcile([{ netns: 1, ip: '127.0.0.1', port: 6379, containerId: '/host/redis-server' }]);
  const after = t.collect(addrs, 1).samples.find((s) => s.labels.container_id === '/docker/web');
  assert.equal(after?.value, 0, 'closed listens stay visible as 0 for a while');
  assert.equal(t.ownerOf(100, '192.168.77.10', 80), undefined);
});
