import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TcpEvent } from '../src/kernel/tcp-event-decoder.ts';
import { parsePortRanges } from '../src/net/address.ts';
import { TcpConnectionTable } from '../src/net/tcp-connection-table.ts';
import { OrderedEventQueue } from '../src/ordered-event-queue.ts';
import { ContainerCollector } from '../src/containers/container-collector.ts';
import type { ContainerRef } from '../src/procs/process-table.ts';

const HOST_NS = 1, POD_NS = 2;
let sock = 1n;
function ev(type: TcpEvent['type'], over: Partial<TcpEvent> = {}): TcpEvent {
  return {
    type, timestampNs: 0, sockId: sock, cgroupId: 0, durationNs: 0, bytesSent: 0, bytesReceived: 0, pid: 100, comm: 'client', netns: POD_NS,
    family: 4, sport: 40000, dport: 80, saddr: '10.0.0.1', daddr: '10.0.0.2', direction: 'outbound', ...over,
  };
}

function table() {
  const owners: Record<number, string> = { 100: '/docker/client', 200: '/host/curl' };
  return new TcpConnectionTable({ containerOf: (e) => owners[e.pid], isHostNetns: (ns) => ns === HOST_NS }, { ephemeralPorts: parsePortRanges('32768-60999') });
}

function value(t: TcpConnectionTable, name: string, labels: Record<string, string>): number | undefined {
  const f = t.collect().find((x) => x.name === name)!;
  return f.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

test('connects, failures, active gauge, bytes and retransmits per destination', () => {
  const t = table();
  for (let i = 0; i < 5; i++) t.onEvent(ev('connect_ok', { sockId: BigInt(i), durationNs: 2e6 }));
  t.onEvent(ev('retransmit', { sockId: 3n }));
  t.onEvent(ev('retransmit', { sockId: 999n })); // unknown socket: ignored
  for (let i = 0; i < 4; i++) t.onEvent(ev('close', { sockId: BigInt(i), bytesSent: 10, bytesReceived: 100 }));
  t.onEvent(ev('close', { sockId: 1n, bytesSent: 10 })); // a second close of the same socket changes nothing
  t.onEvent(ev('connect_fail', { dport: 81 }));
  t.onEvent(ev('connect_fail', { dport: 81 }));
  const d = { container_id: '/docker/client', destination: '10.0.0.2:80' };
  assert.equal(value(t, 'container_net_tcp_successful_connects_total', d), 5);
  assert.equal(value(t, 'container_net_tcp_connection_time_seconds_total', d), 0.01);
  assert.equal(value(t, 'container_net_tcp_active_connections', d), 1);
  assert.equal(value(t, 'container_net_tcp_bytes_sent_total', d), 40);
  assert.equal(value(t, 'container_net_tcp_bytes_received_total', d), 400);
  assert.equal(value(t, 'container_net_tcp_retransmits_total', d), 1);
  assert.equal(value(t, 'container_net_tcp_failed_connects_total', { destination: '10.0.0.2:81' }), 2);
  // A destination that only failed has no success series; failures carry no actual_destination.
  assert.equal(value(t, 'container_net_tcp_successful_connects_total', { destination: '10.0.0.2:81' }), undefined);
  const failed = t.collect().find((x) => x.name === 'container_net_tcp_failed_connects_total')!.samples[0]!;
  assert.equal(failed.labels.actual_destination, undefined);
  assert.equal(t.trackedConnections, 1);
});

test('NAT: one series per actual destination behind a dialled address, failures by destination only, and the peer knows it', () => {
  // A Service address whose connections conntrack sends to two backends in turn, and one it does not translate.
  let turn = 0;
  const asked: string[] = [];
  const t = new TcpConnectionTable({ containerOf: () => '/docker/client', isHostNetns: () => false }, {
    ephemeralPorts: [],
    nat: { actualDestination: (c) => { asked.push(`${c.saddr}:${c.sport}>${c.daddr}:${c.dport}`); return c.daddr === '10.96.0.10' ? `10.0.1.${1 + (turn++ % 2)}:8080` : undefined; } },
  });
  for (let i = 0; i < 6; i++) t.onEvent(ev('connect_ok', { sockId: BigInt(100 + i), sport: 40000 + i, daddr: '10.96.0.10' }));
  t.onEvent(ev('connect_ok', { sockId: 200n, daddr: '10.0.0.2' }));
  t.onEvent(ev('connect_fail', { daddr: '10.96.0.10' }));
  t.onEvent(ev('close', { sockId: 100n, bytesSent: 7 }));
  assert.equal(asked.length, 7, 'every successful connect is asked once; a failed one is not');
  assert.equal(asked[0], '10.0.0.1:40000>10.96.0.10:80');
  const svc = { destination: '10.96.0.10:80' };
  assert.equal(value(t, 'container_net_tcp_successful_connects_total', { ...svc, actual_destination: '10.0.1.1:8080' }), 3);
  assert.equal(value(t, 'container_net_tcp_successful_connects_total', { ...svc, actual_destination: '10.0.1.2:8080' }), 3);
  assert.equal(value(t, 'container_net_tcp_successful_connects_total', { ...svc, actual_destination: '10.96.0.10:80' }), undefined, 'no series for the virtual address itself');
  assert.equal(value(t, 'container_net_tcp_active_connections', { ...svc, actual_destination: '10.0.1.1:8080' }), 2);
  assert.equal(value(t, 'container_net_tcp_bytes_sent_total', { ...svc, actual_destination: '10.0.1.1:8080' }), 7);
  assert.equal(value(t, 'container_net_tcp_successful_connects_total', { destination: '10.0.0.2:80', actual_destination: '10.0.0.2:80' }), 1);
  const failed = t.collect().find((x) => x.name === 'container_net_tcp_failed_connects_total')!.samples;
  assert.deepEqual(failed.map((s) => [s.labels.destination, s.value]), [['10.96.0.10:80', 1]]);
  assert.equal(t.peerOf(101n, 0)?.actualAddress, '10.0.1.2:8080');
  assert.deepEqual(t.peerOf(101n, 0)?.actual, { ip: '10.0.1.2', port: 8080 }, 'split once, at the connect');
  assert.equal(t.peerOf(101n, 0)?.address, '10.96.0.10:80');
  assert.equal(t.peerOf(200n, 0)?.actualAddress, undefined);
  // Closed at 0 (the server's FIN): a response read half a second later is still this connection's; 2 s later it is not.
  assert.equal(t.peerOf(100n, 5e8)?.actualAddress, '10.0.1.1:8080');
  assert.equal(t.peerOf(100n, 2e9), undefined);
  // ...but not for a connection that began after that close (the sock memory's next user, whose connect is still on its way).
  assert.equal(t.peerOf(100n, 5e8, 1e8), undefined);
  assert.equal(t.peerOf(100n, 5e8, 0)?.actualAddress, '10.0.1.1:8080');
});

test('connections open before the agent: active with their actual destination until their close, which names them by address and port', () => {
  const t = new TcpConnectionTable({ containerOf: () => '/docker/client', isHostNetns: () => false }, {
    ephemeralPorts: parsePortRanges('32768-60999'),
    nat: { actualDestination: (c) => (c.daddr === '10.96.0.10' ? '10.0.1.1:5432' : undefined) },
  });
  const base = { pid: 100, netns: POD_NS, containerId: '/docker/client', saddr: '10.0.0.1' };
  t.addExisting([
    { ...base, sport: 40001, daddr: '10.96.0.10', dport: 5432 },
    { ...base, sport: 40002, daddr: '10.96.0.10', dport: 5432 },
    { ...base, sport: 40003, daddr: '10.0.0.2', dport: 80 },
    { ...base, sport: 40004, daddr: '10.0.0.2', dport: 45000 }, // an ephemeral destination port: filtered
  ]);
  const svc = { container_id: '/docker/client', destination: '10.96.0.10:5432', actual_destination: '10.0.1.1:5432' };
  assert.equal(value(t, 'container_net_tcp_active_connections', svc), 2);
  assert.equal(value(t, 'container_net_tcp_successful_connects_total', svc), 0, 'not new connects');
  assert.equal(value(t, 'container_net_tcp_active_connections', { destination: '10.0.0.2:80', actual_destination: '10.0.0.2:80' }), 1);
  assert.equal(t.trackedConnections, 3);
  assert.equal(t.skipped.filtered, 1);
  assert.equal(t.existingActualDestination('10.96.0.10:5432', 40002), '10.0.1.1:5432');
  assert.equal(t.existingActualDestination('10.0.0.2:80', 40003), undefined);
  // The close event of one of them (its sock address never seen before) ends it.
  t.onEvent(ev('close', { sockId: 9001n, sport: 40001, daddr: '10.96.0.10', dport: 5432, bytesSent: 300, bytesReceived: 7000 }));
  t.onEvent(ev('close', { sockId: 9002n, sport: 49999, daddr: '10.96.0.10', dport: 5432 })); // unknown: ignored
  assert.equal(value(t, 'container_net_tcp_active_connections', svc), 1);
  assert.equal(value(t, 'container_net_tcp_bytes_received_total', svc), 7000);
  assert.equal(t.existingActualDestination('10.96.0.10:5432', 40001), undefined);
  assert.equal(t.trackedConnections, 2);
});

test('FQDN mode: connections to a public pool behind a name are one series under the name, without actual_destination', () => {
  const t = new TcpConnectionTable({ containerOf: () => '/docker/client', isHostNetns: () => false }, {
    ephemeralPorts: [],
    fqdn: { destinationOf: (ip, port) => (ip.startsWith('203.0.113.') ? `cdn.example.com:${port}` : undefined) },
  });
  t.onEvent(ev('connect_ok', { sockId: 1n, daddr: '203.0.113.10', dport: 443 }));
  t.onEvent(ev('connect_ok', { sockId: 2n, daddr: '203.0.113.11', dport: 443 }));
  t.onEvent(ev('connect_ok', { sockId: 3n, daddr: '10.0.0.2', dport: 80 }));
  const ok = t.collect().find((f) => f.name === 'container_net_tcp_successful_connects_total')!.samples;
  assert.deepEqual(ok.map((s) => [s.labels.destination, s.labels.actual_destination, s.value]), [['cdn.example.com:443', undefined, 2], ['10.0.0.2:80', '10.0.0.2:80', 1]]);
  assert.equal(t.peerOf(1n, 0)?.address, '203.0.113.10:443', 'the peer stays the address (spans name it)');
});

test('FQDN mode: a connect applied before the DNS answer that named its address is counted under the name once the answer is in', () => {
  const pools = new Map<string, string>(); // ip → name, as answers arrive
  let nowMs = 0;
  const t = new TcpConnectionTable({ containerOf: () => '/docker/client', isHostNetns: () => false }, {
    ephemeralPorts: [],
    fqdn: { destinationOf: (ip, port) => (pools.has(ip) ? `${pools.get(ip)}:${port}` : undefined) },
    now: () => nowMs,
  });
  const series = (name: string) => t.collect().find((f) => f.name === name)!.samples.map((s) => [s.labels.destination, s.labels.actual_destination, s.value]);
  // Connects whose answer is still on its way, one closed at once (with bytes), one failed, one
  // retransmitting; and one to a public address no answer ever names.
  t.onEvent(ev('connect_ok', { sockId: 1n, daddr: '203.0.113.10', dport: 443, durationNs: 1e6 }));
  t.onEvent(ev('connect_ok', { sockId: 2n, daddr: '203.0.113.11', dport: 443, durationNs: 3e6 }));
  t.onEvent(ev('close', { sockId: 2n, daddr: '203.0.113.11', dport: 443, bytesSent: 100, bytesReceived: 5000 }));
  t.onEvent(ev('connect_fail', { sockId: 3n, daddr: '203.0.113.12', dport: 443 }));
  t.onEvent(ev('retransmit', { sockId: 1n }));
  t.onEvent(ev('connect_ok', { sockId: 4n, daddr: '198.51.100.7', dport: 443 }));
  t.onEvent(ev('connect_ok', { sockId: 5n, daddr: '10.0.0.2', dport: 80 })); // private: no name to wait for
  for (const ip of ['203.0.113.10', '203.0.113.11', '203.0.113.12']) pools.set(ip, 'cdn.example.com');
  nowMs = 999;
  assert.deepEqual(series('container_net_tcp_successful_connects_total'), [['10.0.0.2:80', '10.0.0.2:80', 1]], 'still waiting: counted nowhere yet');
  nowMs = 1000;
  assert.deepEqual(series('container_net_tcp_successful_connects_total'), [['10.0.0.2:80', '10.0.0.2:80', 1], ['cdn.example.com:443', undefined, 2], ['198.51.100.7:443', '198.51.100.7:443', 1]]);
  assert.deepEqual(series('container_net_tcp_active_connections'), [['10.0.0.2:80', '10.0.0.2:80', 1], ['cdn.example.com:443', undefined, 1], ['198.51.100.7:443', '198.51.100.7:443', 1]]);
  assert.deepEqual(series('container_net_tcp_bytes_received_total').find((s) => s[0] === 'cdn.example.com:443'), ['cdn.example.com:443', undefined, 5000]);
  assert.deepEqual(series('container_net_tcp_retransmits_total'), [['cdn.example.com:443', undefined, 1]]);
  assert.deepEqual(series('container_net_tcp_failed_connects_total'), [['cdn.example.com:443', undefined, 1]]);
  assert.equal(series('container_net_tcp_connection_time_seconds_total').find((s) => s[0] === 'cdn.example.com:443')![2], 0.004);
  // The one still open closes later: its bytes join the named series, and the gauge drops to 0.
  t.onEvent(ev('close', { sockId: 1n, daddr: '203.0.113.10', dport: 443, bytesSent: 7 }));
  assert.deepEqual(series('container_net_tcp_active_connections').find((s) => s[0] === 'cdn.example.com:443'), ['cdn.example.com:443', undefined, 0]);
  assert.deepEqual(series('container_net_tcp_bytes_sent_total').find((s) => s[0] === 'cdn.example.com:443'), ['cdn.example.com:443', undefined, 107]);
  // A sock address reused after its close, before the wait ended, stays with its own connection.
  t.onEvent(ev('connect_ok', { sockId: 6n, daddr: '203.0.113.20', dport: 443 }));
  t.onEvent(ev('close', { sockId: 6n, daddr: '203.0.113.20', dport: 443 }));
  t.onEvent(ev('connect_ok', { sockId: 6n, daddr: '10.0.0.2', dport: 80 }));
  pools.set('203.0.113.20', 'cdn.example.com');
  nowMs = 3000;
  assert.deepEqual(series('container_net_tcp_active_connections'), [['10.0.0.2:80', '10.0.0.2:80', 2], ['cdn.example.com:443', undefined, 0], ['198.51.100.7:443', '198.51.100.7:443', 1]]);
  assert.deepEqual(series('container_net_tcp_successful_connects_total').find((s) => s[0] === 'cdn.example.com:443'), ['cdn.example.com:443', undefined, 3]);
});

test('filters: ephemeral ports (but 50051), link-local, loopback outside the host netns, unknown owners', () => {
  const t = table();
  t.onEvent(ev('connect_ok', { sockId: 10n, dport: 45000 }));
  t.onEvent(ev('connect_ok', { sockId: 11n, dport: 50051 }));
  t.onEvent(ev('connect_ok', { sockId: 12n, daddr: '169.254.169.254' }));
  t.onEvent(ev('connect_ok', { sockId: 13n, daddr: '127.0.0.1', netns: POD_NS }));
  t.onEvent(ev('connect_ok', { sockId: 14n, daddr: '127.0.0.1', netns: HOST_NS, pid: 200 }));
  t.onEvent(ev('connect_ok', { sockId: 15n, pid: 4242 }));
  assert.deepEqual(t.skipped, { unknownOwner: 1, untracked: 0, filtered: 3 });
  const dests = t.collect().find((x) => x.name === 'container_net_tcp_successful_connects_total')!.samples.map((s) => `${s.labels.container_id} ${s.labels.destination}`).sort();
  assert.deepEqual(dests, ['/docker/client 10.0.0.2:50051', '/host/curl 127.0.0.1:80']);
});

test('the connection cap is enforced and counted', () => {
  const t = new TcpConnectionTable({ containerOf: () => '/x', isHostNetns: () => false }, { ephemeralPorts: [], maxConnections: 2 });
  for (let i = 0; i < 5; i++) t.onEvent(ev('connect_ok', { sockId: BigInt(i) }));
  assert.equal(t.trackedConnections, 2);
  assert.equal(t.skipped.untracked, 3);
  assert.equal(value(t, 'container_net_tcp_successful_connects_total', {}), 5, 'still counted as connects');
});

test('ordered event queue waits for a pid lookup without reordering later events', async () => {
  const known = new Set<number>([1]);
  const applied: string[] = [];
  let release!: () => void;
  const q = new OrderedEventQueue<{ pid: number; tag: string }>({
    pidToResolve: (e) => (known.has(e.pid) ? undefined : e.pid),
    resolvePid: (pid) => new Promise<void>((r) => { release = () => { known.add(pid); r(); }; }),
    apply: (e) => applied.push(e.tag),
    maxQueued: 3,
  });
  q.push({ pid: 1, tag: 'a' });
  q.push({ pid: 2, tag: 'connect' });
  q.push({ pid: 1, tag: 'close' });
  q.push({ pid: 1, tag: 'b' });
  q.push({ pid: 1, tag: 'over-the-cap' });
  assert.deepEqual(applied, ['a']);
  assert.equal(q.dropped, 1);
  release();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(applied, ['a', 'connect', 'close', 'b']);
  assert.equal(q.length, 0);
});

test('an event whose apply throws is skipped and counted; the ones behind it, after a lookup too, still apply', async () => {
  const applied: string[] = [];
  const errors: string[] = [];
  let resolved = false;
  const q = new OrderedEventQueue<{ pid: number; tag: string }>({
    pidToResolve: (e) => (e.pid === 2 && !resolved ? 2 : undefined),
    resolvePid: async () => { resolved = true; },
    apply: (e) => { if (e.tag.startsWith('bad')) throw new Error(e.tag); applied.push(e.tag); },
    onApplyError: (err) => errors.push((err as Error).message),
  });
  q.push({ pid: 1, tag: 'bad-1' });
  q.push({ pid: 1, tag: 'a' });
  q.push({ pid: 2, tag: 'bad-after-lookup' });
  q.push({ pid: 1, tag: 'b' });
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(applied, ['a', 'b']);
  assert.deepEqual(errors, ['bad-1', 'bad-after-lookup']);
  assert.equal(q.failed, 2);
  assert.equal(q.length, 0);
});

test('container_info waits for the minimum container age', () => {
  const now = 1_000_000;
  const ref = (id: string, startedAtMs: number): ContainerRef => ({ containerId: id, kind: 'docker', pids: new Set(), netns: new Set(), cgroupIds: new Set(), startedAtMs, image: id === '/docker/old' ? 'nginx:1.22' : undefined });
  const c = new ContainerCollector({ containers: () => [ref('/docker/old', now - 60_000), ref('/host/cut', now - 100)] }, 30_000, () => now);
  const samples = c.collect()[0]!.samples;
  assert.deepEqual(samples.map((s) => s.labels.container_id), ['/docker/old']);
  assert.equal(samples[0]!.labels.image, 'nginx:1.22');
  assert.equal(new ContainerCollector({ containers: () => [ref('/host/cut', now)] }, 0, () => now).collect()[0]!.samples.length, 1);
});

test('a reused sock address names the right peer for the time of the request', () => {
  const t = table();
  t.onEvent(ev('connect_ok', { sockId: 77n, timestampNs: 1000, durationNs: 100, daddr: '10.0.0.2', dport: 80 }));
  t.onEvent(ev('close', { sockId: 77n, timestampNs: 5000 }));
  // The kernel hands the same memory to an accepted socket later on.
  t.onEvent(ev('accept', { sockId: 77n, timestampNs: 6000, durationNs: 0, daddr: '10.0.0.9', dport: 40000, direction: 'inbound' }));
  assert.equal(t.peerOf(77n, 3000)?.address, '10.0.0.2:80', 'a request during the first connection');
  assert.equal(t.peerOf(77n, 7000)?.address, '10.0.0.9:40000', 'a request on the reused socket');
  assert.equal(t.peerOf(77n, 500), undefined, 'before any connection');
  assert.equal(t.peerOf(78n, 3000), undefined);
});

test('a late request finds its connection among many later ones on the same sock; the history is bounded in all', () => {
  const t = table();
  // 50 short connections, one after another, on the same two sock addresses, each to its own port.
  for (let i = 0; i < 50; i++) {
    const sockId = BigInt(500 + (i % 2));
    t.onEvent(ev('connect_ok', { sockId, timestampNs: i * 1000 + 100, durationNs: 100, dport: 1000 + i }));
    t.onEvent(ev('close', { sockId, timestampNs: i * 1000 + 900 }));
  }
  assert.equal(t.peerOf(500n, 500, 50)?.port, 1000, 'the first connection, asked after all 50 closed');
  assert.equal(t.peerOf(501n, 41_500, 41_050)?.port, 1041);
  // 20,000 more closes: the first 50 are forgotten, and nothing grows past the bound.
  for (let i = 0; i < 20_000; i++) {
    const sockId = BigInt(1000 + (i % 300));
    t.onEvent(ev('connect_ok', { sockId, timestampNs: 100_000 + i * 10, durationNs: 1, dport: 80 }));
    t.onEvent(ev('close', { sockId, timestampNs: 100_000 + i * 10 + 5 }));
  }
  assert.equal(t.peerOf(500n, 500, 50), undefined);
  assert.equal(t.peerOf(1000n, 100_002, 100_001)?.port, 80, 'the oldest of the 20,000 is still kept');
  const kept = (t as unknown as { closedPeers: Map<bigint, unknown[]> }).closedPeers;
  assert.equal([...kept.values()].reduce((n, l) => n + l.length, 0), 20_000);
});
