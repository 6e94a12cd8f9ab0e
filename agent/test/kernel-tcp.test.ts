// Real kernel, real eBPF (needs root): TCP lifecycle events observed for the test's own sockets.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { TcpEvent } from '../src/kernel/tcp-event-decoder.ts';
import { TCP_PROGRAMS, TcpTracer } from '../src/kernel/tcp-tracer.ts';
import { ensureTracefs } from '../src/kernel/tracefs.ts';
import { loadNativeAddon } from '../src/kernel/native-addon.ts';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'needs root (eBPF)';
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Exchange {
  clientPort: number;
  clientSent: number;
  serverSent: number;
}

/** Listener that reads everything, answers with `reply(i)` bytes; odd connections: the server closes first. */
async function runExchanges(count: number, clientBytes: (i: number) => number, serverBytes: (i: number) => number) {
  let accepted = 0;
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    const i = accepted++;
    const payload = Buffer.alloc(serverBytes(i), 0x53);
    if (i % 2 === 1) sock.end(payload); // server sends and closes first, still reads the client's bytes
    sock.on('data', () => {});
    sock.on('end', () => { if (i % 2 === 0) sock.end(payload); });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;

  const exchanges: Exchange[] = [];
  for (let i = 0; i < count; i++) {
    const sent = clientBytes(i);
    exchanges.push(await new Promise<Exchange>((resolve, reject) => {
      let received = 0;
      let clientPort = 0;
      const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
        clientPort = c.localPort ?? 0;
        if (i % 2 === 0) c.end(Buffer.alloc(sent, 0x43));
      });
      c.on('data', (d: Buffer) => { received += d.length; });
      c.on('end', () => { if (i % 2 === 1) c.end(Buffer.alloc(sent, 0x43)); });
      c.on('error', reject);
      c.on('close', () => {
        const expected = serverBytes(i);
        if (received !== expected) reject(new Error(`connection ${i}: received ${received}, expected ${expected}`));
        else resolve({ clientPort, clientSent: sent, serverSent: expected });
      });
    }));
  }
  await new Promise<void>((r) => server.close(() => r()));
  return { port, exchanges };
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function refusedConnects(port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('connect', () => reject(new Error(`port ${port} unexpectedly accepted`)));
      c.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? resolve() : reject(err)));
    });
  }
}

describe('kernel TCP tracer', { skip }, () => {
  const events: TcpEvent[] = [];
  const logs: string[] = [];
  let tracer: TcpTracer;

  before(() => {
    tracer = TcpTracer.start({ onEvent: (e) => events.push(e), log: (m) => logs.push(m) });
  });
  after(() => tracer?.stop());

  test('every program loads and attaches', () => {
    const caps = tracer.capabilities();
    assert.deepEqual(caps.map((c) => c.program).sort(), TCP_PROGRAMS.map((p) => p.program).sort(), logs.join('\n'));
    for (const c of caps) {
      assert.equal(c.loaded, true, `${c.program}: ${c.error}`);
      assert.equal(c.attached, true, `${c.program}: ${c.error}`);
      assert.equal(c.error, undefined);
    }
    assert.equal(tracer.running, true);
  });

  test('connect, accept, close with exact byte counts; refused connects; listener open/close', async () => {
    const K = 20;
    const refusedPort = await closedPort();
    const { port, exchanges } = await runExchanges(K, (i) => 1000 + i * 7919, (i) => 300 + i * 4099);
    await refusedConnects(refusedPort, 5);

    const mine = () => events.filter((e) => e.sport === port || e.dport === port || e.dport === refusedPort);
    const byType = (t: TcpEvent['type']) => mine().filter((e) => e.type === t);
    await waitFor('all events of the exchanges', () =>
      byType('listen_close').length >= 1 && byType('close').length >= 2 * K && byType('connect_fail').length >= 5);

    const connects = byType('connect_ok');
    assert.equal(connects.length, K);
    for (const e of connects) {
      assert.equal(e.pid, process.pid);
      assert.equal(e.dport, port);
      assert.equal(e.direction, 'outbound');
      assert.equal(e.family, 4);
      assert.equal(e.saddr, '127.0.0.1');
      assert.equal(e.daddr, '127.0.0.1');
      assert.ok(e.durationNs > 0, 'connect duration measured');
      assert.ok(e.netns > 0);
    }
    const numeric = (a: number, b: number) => a - b;
    assert.deepEqual(connects.map((e) => e.sport).sort(numeric), exchanges.map((x) => x.clientPort).sort(numeric));

    const accepts = byType('accept');
    assert.equal(accepts.length, K);
    for (const e of accepts) {
      assert.equal(e.sport, port);
      assert.equal(e.pid, 0);
      assert.equal(e.direction, 'inbound');
    }
    assert.deepEqual(accepts.map((e) => e.dport).sort(numeric), exchanges.map((x) => x.clientPort).sort(numeric));

    const closes = byType('close');
    assert.equal(closes.length, 2 * K);
    for (const x of exchanges) {
      const client = closes.filter((e) => e.direction === 'outbound' && e.sport === x.clientPort && e.dport === port);
      const server = closes.filter((e) => e.direction === 'inbound' && e.sport === port && e.dport === x.clientPort);
      assert.equal(client.length, 1, `client close for ${x.clientPort}`);
      assert.equal(server.length, 1, `server close for ${x.clientPort}`);
      assert.deepEqual([client[0].bytesSent, client[0].bytesReceived], [x.clientSent, x.serverSent], `client ${x.clientPort}`);
      assert.deepEqual([server[0].bytesSent, server[0].bytesReceived], [x.serverSent, x.clientSent], `server ${x.clientPort}`);
      assert.equal(client[0].pid, process.pid);
      // the same sockets as the connect/accept events
      assert.equal(client[0].sockId, connects.find((e) => e.sport === x.clientPort)?.sockId);
      assert.equal(server[0].sockId, accepts.find((e) => e.dport === x.clientPort)?.sockId);
    }
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    assert.equal(sum(closes.filter((e) => e.direction === 'outbound').map((e) => e.bytesSent)), sum(exchanges.map((x) => x.clientSent)));
    assert.equal(sum(closes.filter((e) => e.direction === 'inbound').map((e) => e.bytesSent)), sum(exchanges.map((x) => x.serverSent)));

    const fails = byType('connect_fail');
    assert.equal(fails.length, 5);
    for (const e of fails) {
      assert.equal(e.pid, process.pid);
      assert.equal(e.dport, refusedPort);
    }

    const opens = byType('listen_open').filter((e) => e.sport === port);
    assert.equal(opens.length, 1);
    assert.equal(opens[0].pid, process.pid);
    assert.equal(byType('listen_close').filter((e) => e.sport === port).length, 1);

    // all of the test's sockets belong to this process's cgroup and netns
    const cgroups = new Set(mine().map((e) => e.cgroupId));
    assert.equal(cgroups.size, 1);
    assert.ok([...cgroups][0] > 0);
    assert.equal(new Set(mine().map((e) => e.netns)).size, 1);

    const counters = tracer.counters();
    assert.equal(counters.ringbufDropped, 0);
    assert.equal(counters.badRecords, 0);
  });

  test('IPv6 loopback connection decodes ::1', async (t) => {
    const server = net.createServer((s) => s.end());
    try {
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '::1', resolve); });
    } catch {
      t.skip('no IPv6 loopback');
      return;
    }
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve, reject) => {
      const c = net.connect(port, '::1', () => c.end());
      c.on('data', () => {});
      c.on('close', () => resolve());
      c.on('error', reject);
    });
    await new Promise<void>((r) => server.close(() => r()));
    await waitFor('IPv6 connect_ok', () => events.some((e) => e.type === 'connect_ok' && e.dport === port));
    const e = events.find((x) => x.type === 'connect_ok' && x.dport === port)!;
    assert.equal(e.family, 6);
    assert.equal(e.saddr, '::1');
    assert.equal(e.daddr, '::1');
    assert.equal(e.pid, process.pid);
  });

  test('stop() then start again works (clean teardown)', () => {
    for (let i = 0; i < 3; i++) {
      const t2 = TcpTracer.start({ onEvent: () => {} });
      assert.ok(t2.capabilities().every((c) => c.attached));
      t2.stop();
      t2.stop();
      assert.equal(t2.running, false);
    }
  });
});

describe('native loader isolates failing programs', { skip }, () => {
  test('verifier rejection, unsupported program types and attach failures do not stop the others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-mixed-'));
    try {
      const src = join(dir, 'mixed.bpf.c');
      writeFileSync(src, `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
SEC("tracepoint/sock/inet_sock_set_state") int good_first(void *ctx) { return 0; }
SEC("tracepoint/sock/inet_sock_set_state") int bad_verifier(void *ctx) { return *(int *)(long)bpf_get_prandom_u32(); }
SEC("tracepoint/nosuchcat/nosuchevent") int bad_attach(void *ctx) { return 0; }
SEC("tracepoint/tcp/tcp_retransmit_skb") int good_last(void *ctx) { return 0; }
`);
      const obj = join(dir, 'mixed.bpf.o');
      execFileSync('clang', ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-I', join(repoRoot, 'agent/bpf/build'), '-c', src, '-o', obj]);
      const addon = loadNativeAddon();
      const o = new addon.BpfObject(obj);
      try {
        const byName = Object.fromEntries(o.programs().map((p) => [p.name, p]));
        assert.deepEqual(Object.keys(byName).sort(), ['bad_attach', 'bad_verifier', 'good_first', 'good_last']);
        assert.equal(byName.good_first.attached, true, byName.good_first.error);
        assert.equal(byName.good_last.attached, true, byName.good_last.error);
        assert.equal(byName.bad_verifier.loaded, false);
        assert.match(byName.bad_verifier.error ?? '', /load failed.*invalid mem access/);
        assert.equal(byName.bad_attach.loaded, true);
        assert.equal(byName.bad_attach.attached, false);
        assert.match(byName.bad_attach.error ?? '', /attach failed/);
        assert.equal(o.startPolling(() => {}), 1);
      } finally {
        o.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TcpTracer without its pieces', () => {
  test('missing addon: the error says how to build it', () => {
    assert.throws(() => loadNativeAddon('/nonexistent/rootsight_bpf.node'), /not built.*npm run setup/);
  });

  test('missing object file: start() does not throw and reports why', () => {
    const t = TcpTracer.start({ objectPath: '/nonexistent/tcp.bpf.o', onEvent: () => {} });
    const caps = t.capabilities();
    assert.equal(caps.length, TCP_PROGRAMS.length);
    for (const c of caps) {
      assert.equal(c.attached, false);
      assert.match(c.error ?? '', /does not exist|not built/);
    }
    assert.equal(t.running, false);
    assert.deepEqual(t.counters(), { ringbufDropped: 0, mapFull: 0, badRecords: 0 });
    t.stop();
  });
});

describe('tracefs', { skip }, () => {
  test('ensureTracefs is idempotent', () => {
    const a = ensureTracefs();
    const b = ensureTracefs();
    assert.equal(a.ok, true, a.error);
    assert.equal(b.ok, true, b.error);
    assert.equal(b.action, 'already-mounted');
    assert.ok(existsSync(`${b.path}/events`));
  });

  test('mounts tracefs when missing (private mount namespace) and tracepoints then attach', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-tracefs-'));
    try {
      const script = join(dir, 'child.ts');
      writeFileSync(script, `
import { existsSync } from 'node:fs';
import { TcpTracer } from ${JSON.stringify(join(repoRoot, 'agent/src/kernel/tcp-tracer.ts'))};
const before = existsSync('/sys/kernel/tracing/events') || existsSync('/sys/kernel/debug/tracing/events');
const t = TcpTracer.start({ onEvent: () => {} });
console.log(JSON.stringify({ before, tracefs: t.tracefs(), caps: t.capabilities() }));
t.stop();
`);
      // Unmount every tracefs/debugfs instance in a private copy of the mount table only.
      const sh = `for m in /sys/kernel/debug/tracing /sys/kernel/debug /sys/kernel/tracing; do
  while mountpoint -q $m; do umount $m || exit 4; done; done
exec "$0" --import tsx "$1"`;
      const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', sh, process.execPath, script], {
        cwd: repoRoot, encoding: 'utf8', timeout: 60_000,
      });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        before: boolean;
        tracefs: { ok: boolean; action: string };
        caps: { attached: boolean; error?: string }[];
      };
      assert.equal(out.before, false, 'tracefs was unmounted in the child');
      assert.equal(out.tracefs.ok, true);
      assert.match(out.tracefs.action, /^mounted-/);
      for (const c of out.caps) assert.equal(c.attached, true, c.error);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
