// Real kernel, real eBPF (needs root): L7 requests paired in the kernel for real servers and clients
// (nginx, redis-server/redis-benchmark, a node DNS server) and for the test's own sockets.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Http2Chunk, L7ConnClose, L7Event as DecodedL7Event } from '../src/kernel/l7-event-decoder.ts';

/** A decoded event with its payloads copied into Buffers, for the string checks below. */
type L7Event = Omit<DecodedL7Event, 'request' | 'response'> & { request: Buffer; response: Buffer };
import { L7_PROGRAMS, L7Tracer } from '../src/kernel/l7-tracer.ts';

/** Runs a load tool without blocking this process: the tracer drains its ring buffer on this thread. */
function runAsync(cmd: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string; pid: number | undefined }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr, pid: child.pid });
    });
  });
}

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'needs root (eBPF)';

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitListening(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect({ port, host: '127.0.0.1' }, () => { c.destroy(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function statusOf(e: L7Event): string | undefined {
  return /^HTTP\/1\.[01] (\d{3})/.exec(e.response.toString('latin1'))?.[1];
}

function countBy<T>(xs: T[], key: (x: T) => string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) {
    const k = key(x) ?? 'none';
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

function httpGet(agent: http.Agent, port: number, path: string, sockets?: Set<string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.on('socket', (s) => {
      const note = () => sockets?.add(`${s.localPort}`);
      if (s.localPort) note(); else s.once('connect', note);
    });
  });
}

function rawHttpExchange(port: number, write: (s: net.Socket) => void, done: (received: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const s = net.connect({ port, host: '127.0.0.1' }, () => write(s));
    s.on('data', (d: Buffer) => {
      received += d.toString('latin1');
      if (done(received)) { s.end(); resolve(received); }
    });
    s.on('error', reject);
  });
}

describe('kernel L7 tracer', { skip }, () => {
  let tracer: L7Tracer | undefined;
  const events: L7Event[] = [];
  const chunks: Http2Chunk[] = [];
  const closes: L7ConnClose[] = [];
  const logs: string[] = [];
  let dir = '';
  const children: ChildProcess[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rs-l7-'));
    tracer = L7Tracer.start({
      onEvent: (e) => events.push({ ...e, request: Buffer.from(e.request), response: Buffer.from(e.response) }),
      onHttp2Chunk: (c) => chunks.push(c),
      onConnectionClose: (c) => closes.push(c),
      log: (m) => logs.push(m),
    });
  });
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    tracer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every program loads and attaches (uprobe programs: load, and wait for a binary)', () => {
    const caps = tracer!.capabilities();
    assert.deepEqual(caps.filter((c) => !c.loaded || (!c.attached && !c.targets)), [], logs.join('\n'));
    // OpenSSL: 4 entries + 1 return; Go: 3 at offsets; rustls: 1 entry + 3 returns.
    assert.deepEqual(caps.filter((c) => c.targets).map((c) => c.attachPoint).sort(), [...Array(8).fill('uprobe'), ...Array(4).fill('uretprobe')]);
    assert.equal(caps.length, L7_PROGRAMS.length);
    assert.ok(tracer!.running);
  });

  describe('nginx, HTTP/1.1 keep-alive', () => {
    let port = 0;
    let master: ChildProcess | undefined;
    let worker = 0;

    before(async () => {
      port = await freePort();
      const conf = join(dir, 'nginx.conf');
      writeFileSync(conf, `daemon off;
master_process on;
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 256; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body;
  server {
    listen 127.0.0.1:${port};
    location = / { return 200 "hello\\n"; }
    location = /fail { return 500; }
    location / { return 404; }
  }
}
`);
      master = spawn('nginx', ['-p', dir, '-c', conf, '-e', `${dir}/nginx-error.log`], { stdio: 'ignore' });
      children.push(master);
      await waitListening(port);
      await waitFor('the nginx worker', () => childPids(master!.pid!).length === 1);
      worker = childPids(master!.pid!)[0];
    });
    after(() => { master?.kill('SIGQUIT'); });

    test('node client: events = completed requests exactly, on both sides, with exact status counts', async (t) => {
      const plan: string[] = [...Array(150).fill('/'), ...Array(60).fill('/missing'), ...Array(40).fill('/fail')];
      const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      const statuses: number[] = [];
      const sockets = new Set<string>();
      let next = 0;
      await Promise.all([0, 1, 2, 3].map(async () => {
        while (next < plan.length) statuses.push(await httpGet(agent, port, plan[next++], sockets));
      }));
      // A marker request after everything: its events come after all earlier ones in the ring.
      statuses.push(await httpGet(agent, port, '/marker'));
      agent.destroy();

      const host = `Host: 127.0.0.1:${port}\r\n`;
      const isOurs = (e: L7Event) => e.protocol === 'http' && e.request.toString('latin1').includes(host);
      const isMarker = (e: L7Event) => e.request.toString('latin1').startsWith('GET /marker ');
      await waitFor('marker events', () =>
        events.some((e) => isOurs(e) && isMarker(e) && e.pid === process.pid) &&
        events.some((e) => isOurs(e) && isMarker(e) && e.pid === worker));
      const out = events.filter((e) => isOurs(e) && e.pid === process.pid && !isMarker(e));
      const inb = events.filter((e) => isOurs(e) && e.pid === worker && !isMarker(e));
      const want = countBy(statuses.slice(0, -1), (s) => String(s));
      t.diagnostic(`client completed ${plan.length}: ${JSON.stringify(want)}; outbound events ${out.length}: ${JSON.stringify(countBy(out, statusOf))}; nginx inbound events ${inb.length}: ${JSON.stringify(countBy(inb, statusOf))}`);
      assert.deepEqual(want, { 200: 150, 404: 60, 500: 40 });
      assert.equal(out.length, plan.length);
      assert.equal(inb.length, plan.length);
      assert.deepEqual(countBy(out, statusOf), want);
      assert.deepEqual(countBy(inb, statusOf), want);
      assert.ok(out.every((e) => e.direction === 'outbound') && inb.every((e) => e.direction === 'inbound'));
      // request prefixes carry method and path, in the same mix as sent
      assert.deepEqual(countBy(out, (e) => /^GET (\S+) HTTP\/1\.1\r\n/.exec(e.request.toString('latin1'))?.[1]), { '/': 150, '/missing': 60, '/fail': 40 });
      assert.deepEqual(countBy(inb, (e) => /^GET (\S+) HTTP\/1\.1\r\n/.exec(e.request.toString('latin1'))?.[1]), { '/': 150, '/missing': 60, '/fail': 40 });
      // keep-alive: as many connections as the client used sockets, on both ends (nginx closes the
      // connection after each 500, so there are about 4 + 40). A struct sock address is reused by
      // later sockets: (connectionId, connectionStartNs) identifies a connection.
      const connKey = (e: L7Event) => `${e.connectionId}:${e.connectionStartNs}`;
      const conns = new Set(out.map(connKey)).size;
      assert.equal(conns, sockets.size, `client used ${sockets.size} sockets`);
      assert.equal(new Set(inb.map(connKey)).size, sockets.size);
      assert.ok(conns < plan.length / 4);
      const odd = out.filter((e) => !(e.durationNs > 0 && e.requestSize === e.request.length && e.responseSize >= e.response.length));
      assert.deepEqual(odd.map((e) => [e.durationNs, e.requestSize, e.request.length, e.responseSize, e.response.length]), []);
      assert.ok(out.every((e) => e.cgroupId > 0));
    });

    test('wrk for a fixed duration: our counts vs wrk\'s', async (t) => {
      const wrk = await runAsync('wrk', ['-t1', '-c4', '-d1s', `http://127.0.0.1:${port}/`]);
      assert.equal(wrk.status, 0, wrk.stderr);
      const completed = Number(/(\d+) requests in/.exec(wrk.stdout)?.[1]);
      assert.ok(completed > 100, wrk.stdout);
      const wrkPid = wrk.pid;
      // marker from a different client after wrk exited
      const agent = new http.Agent({ keepAlive: false });
      await httpGet(agent, port, '/marker-wrk');
      await waitFor('marker', () => events.some((e) => e.pid === worker && e.request.toString('latin1').startsWith('GET /marker-wrk ')));
      const out = events.filter((e) => e.pid === wrkPid && e.protocol === 'http');
      const inb = events.filter((e) => e.pid === worker && e.protocol === 'http' && e.timestampNs > 0);
      const inbWrk = inb.filter((e) => e.request.toString('latin1').startsWith('GET / ') && !e.request.toString('latin1').includes('Connection: keep-alive'));
      t.diagnostic(`wrk completed ${completed}; outbound events from wrk ${out.length}; 200s ${countBy(out, statusOf)['200']}`);
      // wrk counts a request when its response is parsed; our event is emitted on the first response read.
      // Requests wrk sent but whose responses it never read when the clock stopped (at most one per connection) are not counted by either side.
      assert.equal(out.length, completed);
      assert.ok(out.every((e) => statusOf(e) === '200'));
      assert.ok(inbWrk.length >= completed && inbWrk.length <= completed + 4, `nginx events ${inbWrk.length}`);
    });

    test('pipelining: one write with three requests is one event; a second request while one is pending is counted', async () => {
      const before = tracer!.counters();
      const three = `GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\n\r\nGET /p3 HTTP/1.1\r\nHost: x\r\n\r\n`;
      let localPort = 0;
      const got = await rawHttpExchange(port, (s) => { localPort = s.localPort!; s.write(three); }, (r) => (r.match(/HTTP\/1\.1 404/g) ?? []).length === 3);
      assert.equal((got.match(/HTTP\/1\.1 404/g) ?? []).length, 3);
      // the second exchange: two separate writes before any response is read
      const got2 = await rawHttpExchange(port, (s) => {
        s.write('GET /q1 HTTP/1.1\r\nHost: x\r\n\r\n');
        s.write('GET /q2 HTTP/1.1\r\nHost: x\r\n\r\n');
      }, (r) => (r.match(/HTTP\/1\.1 404/g) ?? []).length === 2);
      assert.ok(got2);
      const marker = new http.Agent({ keepAlive: false });
      await httpGet(marker, port, '/marker-pipe');
      await waitFor('marker', () => events.some((e) => e.pid === process.pid && e.request.toString('latin1').startsWith('GET /marker-pipe ')));
      const p = events.filter((e) => e.pid === process.pid && e.request.toString('latin1').startsWith('GET /p1 '));
      assert.equal(p.length, 1, 'one event for the pipelined write');
      assert.equal(p[0].request.toString('latin1'), three, 'the whole write is the request prefix');
      assert.equal(p[0].requestSize, three.length);
      assert.match(p[0].response.toString('latin1'), /^HTTP\/1\.1 404/);
      const q1 = events.filter((e) => e.pid === process.pid && e.request.toString('latin1').startsWith('GET /q1 '));
      const q2 = events.filter((e) => e.pid === process.pid && e.request.toString('latin1').startsWith('GET /q2 '));
      assert.equal(q1.length, 1, 'the first request of the pair defines the start');
      assert.equal(q2.length, 0, 'the second was never paired');
      assert.ok(tracer!.counters().requestOverlap >= before.requestOverlap + 1);
      assert.ok(localPort > 0);
      // nginx saw the three pipelined requests in one read: one inbound event
      const np = events.filter((e) => e.pid === worker && e.request.toString('latin1').startsWith('GET /p1 '));
      assert.equal(np.length, 1);
    });
  });

  test('a response read in several chunks: one event, on the first chunk; keep-alive continues', async () => {
    // The server sends the response in three parts, each after the client acknowledged the previous
    // one, so the client reads them with three read() calls. The acks are not requests.
    const body = 'abcdefghij'.repeat(3);
    const head = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`;
    const server = net.createServer((s) => {
      let step = 0;
      s.on('data', (d: Buffer) => {
        const text = d.toString('latin1');
        if (text.startsWith('GET ')) { step = 0; s.write(head); return; }
        if (text === 'a') s.write(body.slice(step * 10, step * 10 + 10)), step++;
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const c = net.connect({ port, host: '127.0.0.1' });
    await new Promise<void>((r) => c.on('connect', () => r()));
    const readResponse = (path: string) => new Promise<string>((resolve) => {
      let got = '';
      const onData = (d: Buffer) => {
        got += d.toString('latin1');
        if (got.length === head.length + body.length) { c.off('data', onData); resolve(got); } else c.write('a');
      };
      c.on('data', onData);
      c.write(`GET ${path} HTTP/1.1\r\nHost: split\r\n\r\n`);
    });
    assert.equal(await readResponse('/split1'), head + body);
    assert.equal(await readResponse('/split2'), head + body);
    c.end();
    const mine = (path: string, dir: string) => events.filter((e) => e.pid === process.pid && e.direction === dir &&
      e.request.toString('latin1').startsWith(`GET ${path} `));
    await waitFor('events of both requests', () => mine('/split2', 'outbound').length === 1 && mine('/split2', 'inbound').length === 1);
    for (const path of ['/split1', '/split2']) {
      const out = mine(path, 'outbound');
      assert.equal(out.length, 1, path);
      assert.equal(out[0].response.toString('latin1'), head, 'the first chunk only');
      assert.equal(out[0].responseSize, head.length);
      const inb = mine(path, 'inbound');
      assert.equal(inb.length, 1, path);
      assert.equal(inb[0].response.toString('latin1'), head);
      assert.equal(inb[0].connectionId !== out[0].connectionId, true, 'two ends, two sockets');
    }
    await new Promise<void>((r) => server.close(() => r()));
  });

  describe('redis', () => {
    let port = 0;
    let server: ChildProcess | undefined;
    before(async () => {
      port = await freePort();
      server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--protected-mode', 'no', '--dir', dir], { stdio: 'ignore' });
      children.push(server);
      await waitListening(port);
    });
    after(() => { server?.kill('SIGKILL'); });

    test('redis-benchmark -t set,get: events = completed requests exactly', async (t) => {
      const N = 5000;
      const bench = await runAsync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-n', String(N), '-c', '4', '-t', 'set,get']);
      assert.equal(bench.status, 0, bench.stderr);
      const completed = [...bench.stdout.matchAll(/(\d+) requests completed/g)].map((m) => Number(m[1]));
      assert.deepEqual(completed, [N, N], bench.stdout.slice(0, 500));
      spawnSync('redis-cli', ['-p', String(port), 'ECHO', 'rs-marker'], { encoding: 'utf8' });
      await waitFor('marker', () => events.some((e) => e.protocol === 'redis' && e.request.includes('rs-marker') && e.direction === 'inbound'));
      const command = (e: L7Event) => /^\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n/.exec(e.request.toString('latin1'))?.[1]?.toUpperCase();
      const out = events.filter((e) => e.pid === bench.pid && e.protocol === 'redis');
      const inb = events.filter((e) => e.pid === server!.pid && e.protocol === 'redis' && !e.request.includes('rs-marker'));
      const outBy = countBy(out, command);
      const inbBy = countBy(inb, command);
      t.diagnostic(`redis-benchmark completed SET ${completed[0]} GET ${completed[1]}; outbound events ${JSON.stringify(outBy)}; redis-server inbound events ${JSON.stringify(inbBy)}`);
      // redis-benchmark first asks CONFIG GET save + CONFIG GET appendonly, written together in one
      // write (one pipelined pair = one event whose prefix holds both commands).
      const config = out.filter((e) => command(e) === 'CONFIG');
      assert.equal(config.length, 1);
      assert.equal((config[0].request.toString('latin1').match(/CONFIG/g) ?? []).length, 2);
      assert.deepEqual(outBy, { SET: N, GET: N, CONFIG: 1 });
      assert.deepEqual(inbBy, { SET: N, GET: N, CONFIG: 1 });
      const responses = countBy([...out, ...inb].filter((e) => command(e) !== 'CONFIG'), (e) => `${command(e)} ${e.response.toString('latin1').replace(/^\$3\r\n[\s\S]{3}\r\n$/, '$3 <value>')}`);
      assert.deepEqual(responses, { 'SET +OK\r\n': 2 * N, 'GET $3 <value>': 2 * N });
    });
  });

  test('DNS over UDP (sendmsg/sendmmsg/recvmsg, unconnected and connected): events with query ids and rcodes', async () => {
    const server = dgram.createSocket('udp4');
    server.on('message', (msg, rinfo) => {
      // question name
      const labels: string[] = [];
      let i = 12;
      while (msg[i] !== 0) { labels.push(msg.subarray(i + 1, i + 1 + msg[i]).toString()); i += 1 + msg[i]; }
      const qEnd = i + 5;
      const name = labels.join('.');
      const nx = name.startsWith('missing');
      const head = Buffer.from(msg.subarray(0, 12));
      head.writeUInt16BE(0x8180 | (nx ? 3 : 0), 2); // QR RD RA, rcode
      head.writeUInt16BE(nx ? 0 : 1, 6); // ANCOUNT
      const answer = nx ? Buffer.alloc(0) : Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3]);
      server.send(Buffer.concat([head, msg.subarray(12, qEnd), answer]), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    const port = server.address().port;
    const query = (id: number, name: string) => {
      const q = Buffer.alloc(12);
      q.writeUInt16BE(id, 0);
      q.writeUInt16BE(0x0100, 2);
      q.writeUInt16BE(1, 4);
      const parts = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
      return Buffer.concat([q, ...parts, Buffer.from([0, 0, 1, 0, 1])]);
    };
    const ask = (sock: dgram.Socket, id: number, name: string, connected: boolean) => new Promise<Buffer>((resolve) => {
      const onMsg = (m: Buffer) => { if (m.readUInt16BE(0) === id) { sock.off('message', onMsg); resolve(m); } };
      sock.on('message', onMsg);
      if (connected) sock.send(query(id, name)); else sock.send(query(id, name), port, '127.0.0.1');
    });
    const client = dgram.createSocket('udp4');
    const ids = [0x1111, 0x2222, 0x3333];
    assert.equal((await ask(client, ids[0], 'a.example.com', false))[3] & 0xf, 0);
    assert.equal((await ask(client, ids[1], 'missing.example.com', false))[3] & 0xf, 3);
    const connected = dgram.createSocket('udp4');
    await new Promise<void>((r) => connected.connect(port, '127.0.0.1', () => r()));
    assert.equal((await ask(connected, ids[2], 'b.example.com', true))[3] & 0xf, 0);

    const dns = () => events.filter((e) => e.pid === process.pid && e.protocol === 'dns' && ids.includes(e.streamId ?? -1));
    await waitFor('DNS events', () => dns().length === 6);
    const out = dns().filter((e) => e.direction === 'outbound');
    const inb = dns().filter((e) => e.direction === 'inbound');
    assert.deepEqual(out.map((e) => e.streamId!).sort((a, b) => a - b), ids);
    assert.deepEqual(inb.map((e) => e.streamId!).sort((a, b) => a - b), ids);
    for (const e of dns()) {
      assert.equal(e.sockType, 'dgram');
      assert.equal(e.request.readUInt16BE(0), e.streamId);
      assert.equal(e.response.readUInt16BE(0), e.streamId);
      assert.equal(e.response[3] & 0xf, e.streamId === 0x2222 ? 3 : 0, 'rcode');
      assert.ok(e.durationNs > 0);
    }
    client.close();
    connected.close();
    server.close();
  });

  test('HTTP/2 (h2c): raw frames are shipped as chunks in both directions, never paired', async () => {
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      stream.respond({ ':status': headers[':path'] === '/missing' ? 404 : 200 });
      stream.end('h2 body');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const client = http2.connect(`http://127.0.0.1:${port}`);
    const get = (path: string) => new Promise<number>((resolve, reject) => {
      const req = client.request({ ':path': path });
      let status = 0;
      req.on('response', (h) => { status = Number(h[':status']); });
      req.resume();
      req.on('end', () => resolve(status));
      req.on('error', reject);
      req.end();
    });
    assert.equal(await get('/'), 200);
    assert.equal(await get('/missing'), 404);
    const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
    const mine = () => chunks.filter((c) => c.pid === process.pid && c.protocol === 'http2');
    const startsWithPreface = (c: Http2Chunk) => c.data.subarray(0, 24).toString('latin1') === preface;
    await waitFor('preface chunks on both ends', () =>
      mine().some((c) => c.direction === 'outbound' && c.io === 'write' && startsWithPreface(c)) &&
      mine().some((c) => c.direction === 'inbound' && c.io === 'read' && startsWithPreface(c)));
    const key = (c: { connectionId: bigint; connectionStartNs: number }) => `${c.connectionId}:${c.connectionStartNs}`;
    const conns = new Set(mine().filter(startsWithPreface).map(key));
    assert.equal(conns.size, 2, 'client end and server end');
    await waitFor('responses read by the client and written by the server', () =>
      mine().some((c) => conns.has(key(c)) && c.direction === 'outbound' && c.io === 'read') &&
      mine().some((c) => conns.has(key(c)) && c.direction === 'inbound' && c.io === 'write'));
    for (const c of mine()) {
      assert.ok(c.data.length <= 4096 && c.data.length === Math.min(c.size, 4096));
      assert.ok(c.timestampNs > 0);
    }
    assert.equal(events.filter((e) => conns.has(key(e))).length, 0, 'no paired events on HTTP/2 connections');
    client.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('close events carry exact byte counts of the connection', async () => {
    const server = net.createServer((s) => { s.on('data', () => s.end(Buffer.alloc(3000, 0x41))); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const req = 'GET /bytes HTTP/1.1\r\nHost: b\r\n\r\n';
    const c = net.connect({ port, host: '127.0.0.1' }, () => c.write(req));
    let got = 0;
    c.on('data', (d: Buffer) => { got += d.length; });
    await new Promise<void>((r) => c.on('end', () => { c.end(); r(); }));
    await new Promise<void>((r) => c.on('close', () => r()));
    await waitFor('both close events', () => closes.filter((x) => x.pid === process.pid && (x.bytesSent === 3000 || x.bytesReceived === 3000)).length === 2);
    const both = closes.filter((x) => x.pid === process.pid && (x.bytesSent === 3000 || x.bytesReceived === 3000));
    const out = both.find((x) => x.direction === 'outbound')!;
    const inb = both.find((x) => x.direction === 'inbound')!;
    assert.deepEqual([out.bytesSent, out.bytesReceived], [req.length, 3000]);
    assert.deepEqual([inb.bytesSent, inb.bytesReceived], [3000, req.length]);
    assert.equal(got, 3000);
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('no ring-buffer drops, no malformed records, no full maps', (t) => {
    const c = tracer!.counters();
    t.diagnostic(`counters ${JSON.stringify(c)}`);
    assert.equal(c.ringbufDropped, 0);
    assert.equal(c.badRecords, 0);
    assert.equal(c.connMapFull, 0);
    assert.equal(c.pendingMapFull, 0);
    assert.equal(c.argsMapFull, 0);
    assert.ok(c.requestEvents >= events.length - 10);
    assert.ok(existsSync(dir));
  });
});

describe('L7Tracer without its pieces', () => {
  test('missing object file: start() does not throw and reports why', () => {
    const logs: string[] = [];
    const t = L7Tracer.start({ objectPath: '/nonexistent/l7.bpf.o', onEvent: () => {}, log: (m) => logs.push(m) });
    assert.equal(t.running, false);
    const caps = t.capabilities();
    assert.equal(caps.length, L7_PROGRAMS.length);
    assert.ok(caps.every((c) => !c.attached && c.error && /l7\.bpf\.o|addon/.test(c.error)));
    assert.equal(t.counters().ringbufDropped, 0);
    t.stop();
  });
});
