// HTTPS request tracing end to end, as root on the real kernel: nginx with a self-signed
// certificate in one stand-in container, clients in another. The bytes on the wire are TLS
// records; the agent reads the plaintext at OpenSSL's SSL_read/SSL_write through uprobes:
//   - curl links libssl.so.3 and does its socket I/O inside SSL_read/SSL_write (socket BIO),
//   - wget links GnuTLS (gnutls_record_send/recv),
//   - Node.js carries OpenSSL inside its own binary and uses memory BIOs (its socket I/O happens
//     outside the SSL calls), so the agent binds each SSL * to its socket another way,
//   - nginx (the server side) links libssl.so.3 too,
//   - a Go server and client (test/e2e/go-tls, built by setup) use Go's own crypto/tls,
//   - a Rust server and client (test/e2e/rustls-tls, built by setup from Debian's crates) use rustls,
//   - a Node.js server that sends each TLS record in two halves makes the client's SSL_read fail
//     with "want read" (-1) before each response.
// Counts by status must equal the clients' own counts exactly on both sides, and paths must be
// visible in the spans.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../agent/src/agent.ts';
import { startServer, type RunningServer } from '../../server/src/main.ts';
import { selfSignedCertificate, startNginx } from './nginx.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { parseExposition, pick, type ScrapedSample as Sample } from './scrape.ts';

let net: StandInNetwork;
let web: StandInContainer;
let client: StandInContainer;
let agent: Agent;
let server: RunningServer;
const work = mkdtempSync(join(tmpdir(), 'rootsight-tls-'));

before(async () => {
  net = new StandInNetwork('192.168.228');
  web = net.addContainer('tlsweb');
  client = net.addContainer('tlsclient');
  server = await startServer({ listen: '127.0.0.1:0', dataDir: join(work, 'data'), log: () => {} });
  agent = await Agent.start({
    listen: '127.0.0.1:0', collectorEndpoint: server.url, cgroupfsRoot: '/sys/fs/cgroup', scrapeIntervalMs: 3_600_000,
    ephemeralPortRange: '32768-60999', minContainerAgeMs: 0, processScanIntervalMs: 300, log: (m) => console.error(`agent: ${m}`),
  });
  const certificate = selfSignedCertificate(work);
  startNginx(web, work, `location = / { return 200 "ok\\n"; }
    location = /fail { return 500 "boom\\n"; }`, 1, certificate);
  web.spawn(GO_TLS, ['server', `:${GO_PORT}`, certificate.cert, certificate.key, `:${GO_PLAIN_PORT}`], { stdio: 'inherit' });
  // The rustls server: a running process of that file, which the agent finds and probes (uprobes
  // are per file), so the short-lived client runs of it below are traced from their first request.
  const der = { cert: join(work, 'cert.der'), key: join(work, 'key.der') };
  execFileSync('openssl', ['x509', '-in', certificate.cert, '-outform', 'DER', '-out', der.cert]);
  execFileSync('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', certificate.key, '-outform', 'DER', '-out', der.key]);
  rustlsListening = listening(web.spawn(RUSTLS_TLS, ['serve', `0.0.0.0:${RUSTLS_PORT}`, der.cert, der.key], { stdio: 'pipe' }), 'the rustls server');
  splitListening = listening(web.spawn(process.execPath, [join(import.meta.dirname, 'split-tls-server.mjs'), String(SPLIT_PORT), certificate.cert, certificate.key], { stdio: 'pipe' }), 'the split-record server');
});

/**
 * Resolves when a server says on stdout that it listens (waiting for its own word, since a probe
 * request would be counted on the server's side); rejects if it exits first. Awaited by the
 * server's test, so a failure to start fails that test alone.
 */
function listening(server: ChildProcess, what: string): Promise<void> {
  const p = new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(); });
    server.on('exit', (code) => reject(new Error(`${what} exited (${code})`)));
  });
  p.catch(() => undefined);
  return p;
}

after(async () => {
  await agent?.close();
  await server?.close();
  await net?.destroy();
});

const GO_TLS = join(import.meta.dirname, 'go-tls/build/go-tls');
const RUSTLS_TLS = join(import.meta.dirname, 'rustls-tls/build/release/rustls-tls');
const RUSTLS_PORT = 9443;
let rustlsListening: Promise<void>;
/** A Node.js HTTPS server that sends every TLS record in two halves, 50 ms apart (split-tls-server.mjs). */
const SPLIT_PORT = 10443;
let splitListening: Promise<void>;
const GO_PORT = 8443;
const GO_PLAIN_PORT = 8080;
const scrape = async () => parseExposition(await (await fetch(`${agent.url}/metrics`)).text());
const webId = () => `/docker/${web.runtimeId.slice(0, 12)}`;
const clientId = () => `/docker/${client.runtimeId.slice(0, 12)}`;
const STATUSES = ['2xx', '4xx', '5xx'] as const;

/** Outbound counts of the client and inbound counts of nginx by status class. */
function counts(s: Sample[], port = 443): Record<string, number> {
  const got: Record<string, number> = {};
  for (const status of STATUSES) {
    got[`out ${status}`] = pick(s, 'container_http_requests_total', { container_id: clientId(), status, destination: `${web.ip}:${port}` })[0]?.value ?? 0;
    got[`in ${status}`] = pick(s, 'container_http_inbound_requests_total', { container_id: webId(), status })[0]?.value ?? 0;
  }
  return got;
}

/** Waits until the counters moved from `from` by exactly `want` per status (both sides). */
async function expectDelta(from: Record<string, number>, want: Record<(typeof STATUSES)[number], number>, what: string, port = 443): Promise<void> {
  let seen = '';
  await eventually(() => `${what}: counters to move by ${JSON.stringify(want)}; last seen ${seen}`, async () => {
    const s = await scrape();
    const now = counts(s, port);
    const delta = Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (from[k] ?? 0)]));
    seen = JSON.stringify(delta) + JSON.stringify(s.filter((x) => x.name.startsWith('rootsight_agent_l7') || x.name.startsWith('rootsight_agent_skipped')).map((x) => [x.labels.counter ?? x.labels.reason, x.value]));
    const expected = Object.fromEntries(STATUSES.flatMap((st) => [[`out ${st}`, want[st]], [`in ${st}`, want[st]]]));
    return JSON.stringify(delta) === JSON.stringify(expected) ? true : undefined;
  });
}

test('the OpenSSL probes are attached to libssl and to the node binary', async () => {
  await eventually('nginx to answer over HTTPS', async () => {
    try { await web.run('curl', ['-skf', '-o', '/dev/null', 'https://127.0.0.1/']); return true; } catch { return undefined; }
  });
  type Tls = Array<{ path: string; symbols: string[] }>;
  const probed = async () => ((await (await fetch(`${agent.url}/capabilities`)).json()) as { tls: Tls }).tls;
  // nginx maps libssl.so.3; the agent finds it at its next process scan.
  const tls = await eventually('libssl to be probed', async () => {
    const t = await probed();
    return t.some((f) => /\/libssl\.so\.3$/.test(f.path)) ? t : undefined;
  });
  assert.ok(tls.some((f) => f.path === process.execPath), `node probed: ${JSON.stringify(tls)}`);
  // Probe until nginx's side counts one: from then on every request is seen, and the readiness
  // probes made before are all counted (events are applied in order), so later baselines hold.
  await eventually('a probe request to be counted', async () => {
    const before = counts(await scrape())['in 2xx']!;
    await web.run('curl', ['-skf', '-o', '/dev/null', 'https://127.0.0.1/']);
    await new Promise((r) => setTimeout(r, 300));
    return counts(await scrape())['in 2xx']! > before ? true : undefined;
  });
  let last = -1;
  await eventually('the probe counts to settle', async () => {
    await new Promise((r) => setTimeout(r, 500));
    const now = counts(await scrape())['in 2xx']!;
    const settled = now === last;
    last = now;
    return settled ? true : undefined;
  });
  const caps = { tls };
  for (const t of caps.tls.filter((x) => x.symbols[0] === "SSL_write")) assert.deepEqual(t.symbols, ['SSL_write', 'SSL_read', 'SSL_write_ex', 'SSL_read_ex'], t.path);
});

test('curl over HTTPS (libssl, socket BIO): counts by status exact on both sides', async () => {
  const before = counts(await scrape());
  const OK = 12, MISSING = 5, FAILING = 3;
  // One curl process, one connection, requests in order: curl reuses the connection for every URL.
  const urls = [...Array(OK).fill('/'), ...Array(MISSING).fill('/missing'), ...Array(FAILING).fill('/fail')].map((p) => `https://${web.ip}${p}`);
  const out = await client.run('curl', ['-sk', '-H', 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', ...urls.flatMap((u) => ['-o', '/dev/null', '-w', '%{http_code}\\n', u])]);
  const codes = out.trim().split('\n');
  assert.deepEqual([codes.filter((c) => c === '200').length, codes.filter((c) => c === '404').length, codes.filter((c) => c === '500').length], [OK, MISSING, FAILING]);
  await expectDelta(before, { '2xx': OK, '4xx': MISSING, '5xx': FAILING }, 'curl');
});

test('wget over HTTPS (GnuTLS): counts by status exact on both sides', async () => {
  const before = counts(await scrape());
  const OK = 9, MISSING = 4, FAILING = 2;
  // One wget process keeps one connection for every URL; it exits non-zero after a 4xx/5xx, so
  // the statuses come from its --server-response lines.
  const urls = [...Array(OK).fill('/'), ...Array(MISSING).fill('/missing'), ...Array(FAILING).fill('/fail')].map((p) => `https://${web.ip}${p}`);
  const out = await client.run('sh', ['-c', `wget --server-response --no-check-certificate -O /dev/null ${urls.join(' ')} 2>&1; true`]);
  const codes = [...out.matchAll(/^\s*HTTP\/1\.1 (\d{3})/gm)].map((m) => m[1]);
  assert.deepEqual([codes.filter((c) => c === '200').length, codes.filter((c) => c === '404').length, codes.filter((c) => c === '500').length], [OK, MISSING, FAILING], out.slice(-2000));
  assert.match(out, /Reusing existing connection/, 'one connection for all the URLs');
  const tls = ((await (await fetch(`${agent.url}/capabilities`)).json()) as { tls: Array<{ path: string; kind: string; symbols: string[] }> }).tls;
  assert.deepEqual(tls.find((t) => t.kind === 'gnutls')?.symbols, ['gnutls_record_send', 'gnutls_record_recv'], JSON.stringify(tls));
  await expectDelta(before, { '2xx': OK, '4xx': MISSING, '5xx': FAILING }, 'wget');
});

test('Node.js https client (OpenSSL inside the node binary, memory BIO): counts exact on both sides', async () => {
  const before = counts(await scrape());
  const OK = 20, MISSING = 7, FAILING = 4;
  const truth: Record<string, number> = {};
  for (const [path, n] of [['/', OK], ['/missing', MISSING], ['/fail', FAILING]] as const) {
    Object.assign(truth, JSON.parse(await client.run('env', ['TLS=1', process.execPath, join(import.meta.dirname, 'http-client.mjs'), web.ip, '443', String(n), path])));
  }
  assert.deepEqual(truth, { 200: OK, 404: MISSING, 500: FAILING });
  await expectDelta(before, { '2xx': OK, '4xx': MISSING, '5xx': FAILING }, 'node');
});

test('Go client and server (crypto/tls, probed at Go function entries and RET instructions): counts exact on both sides', async () => {
  const caps = await (await fetch(`${agent.url}/capabilities`)).json() as { tls: Array<{ path: string; kind: string; symbols: string[] }> };
  const go = caps.tls.find((t) => t.kind === 'go');
  assert.ok(go && go.symbols.includes('crypto/tls.(*Conn).Write') && go.symbols.some((x) => x.startsWith('crypto/tls.(*Conn).Read+0x')), JSON.stringify(caps.tls));
  const before = counts(await scrape(), GO_PORT);
  const OK = 15, MISSING = 6, FAILING = 2;
  const truth: Record<string, number> = {};
  for (const [path, n] of [['/', OK], ['/missing', MISSING], ['/fail', FAILING]] as const) {
    Object.assign(truth, JSON.parse(await client.run(GO_TLS, ['client', `${web.ip}:${GO_PORT}`, String(n), path])));
  }
  assert.deepEqual(truth, { 200: OK, 404: MISSING, 500: FAILING });
  await expectDelta(before, { '2xx': OK, '4xx': MISSING, '5xx': FAILING }, 'go', GO_PORT);
});

test('Rust client on rustls (probed at Reader::read and the PlaintextSink writes, entry and return): counts exact on both sides, write and write_vectored', async () => {
  type Tls = Array<{ path: string; kind: string; symbols: string[] }>;
  const rustls = await eventually('the rustls client to be probed', async () => {
    const t = ((await (await fetch(`${agent.url}/capabilities`)).json()) as { tls: Tls }).tls;
    return t.find((x) => x.kind === 'rustls');
  });
  assert.deepEqual(rustls.symbols, [
    '<rustls::conn::ConnectionCommon<T> as rustls::conn::PlaintextSink>::write',
    '<rustls::conn::ConnectionCommon<T> as rustls::conn::PlaintextSink>::write_vectored',
    '<rustls::conn::Reader as std::io::Read>::read',
  ], JSON.stringify(rustls));
  // One process, one keep-alive connection, the requests in order; then again with every request
  // written by write_vectored in two pieces (as hyper over tokio-rustls writes).
  for (const [vectored, OK, MISSING, FAILING] of [['0', 11, 4, 3], ['1', 7, 3, 2]] as const) {
    const before = counts(await scrape());
    const paths = [...Array(OK).fill('/'), ...Array(MISSING).fill('/missing'), ...Array(FAILING).fill('/fail')];
    const out = await client.run('env', [`VECTORED=${vectored}`, RUSTLS_TLS, `${web.ip}:443`, ...paths]);
    const codes = out.trim().split('\n').map((l) => l.split(' ')[0]);
    assert.deepEqual([codes.filter((c) => c === '200').length, codes.filter((c) => c === '404').length, codes.filter((c) => c === '500').length], [OK, MISSING, FAILING], out);
    await expectDelta(before, { '2xx': OK, '4xx': MISSING, '5xx': FAILING }, `rustls${vectored === '1' ? ', write_vectored' : ''}`);
  }
});

test('Rust server on rustls, a Node.js client: counts exact on both sides', async () => {
  await rustlsListening;
  const before = counts(await scrape(), RUSTLS_PORT);
  const OK = 13, MISSING = 5, FAILING = 4;
  const truth: Record<string, number> = {};
  for (const [path, n] of [['/', OK], ['/missing', MISSING], ['/fail', FAILING]] as const) {
    Object.assign(truth, JSON.parse(await client.run('env', ['TLS=1', process.execPath, join(import.meta.dirname, 'http-client.mjs'), web.ip, String(RUSTLS_PORT), String(n), path])));
  }
  assert.deepEqual(truth, { 200: OK, 404: MISSING, 500: FAILING });
  await expectDelta(before, { '2xx': OK, '4xx': MISSING, '5xx': FAILING }, 'rustls server', RUSTLS_PORT);
});

test('records arriving in halves (SSL_read returns -1 first, an int): a Node.js client\'s counts exact on both sides', async () => {
  // Read as a 64-bit value, that -1 was 4 GiB of "plaintext": whatever the client's read buffer
  // held (the previous response) answered the pending request, with its status.
  await splitListening;
  const before = counts(await scrape(), SPLIT_PORT);
  const out = await client.run('env', ['TLS=1', process.execPath, join(import.meta.dirname, 'http-client.mjs'), web.ip, String(SPLIT_PORT), '3', '/', '/fail', '/missing']);
  assert.deepEqual(JSON.parse(out), { 200: 3, 404: 3, 500: 3 });
  await expectDelta(before, { '2xx': 3, '4xx': 3, '5xx': 3 }, 'split records', SPLIT_PORT);
});

test('Go plain HTTP server, whose background read takes a request\'s first byte alone: counts exact on both sides', async () => {
  const before = counts(await scrape(), GO_PLAIN_PORT);
  const OK = 200, MISSING = 30, FAILING = 20;
  const truth: Record<string, number> = {};
  for (const [path, n] of [['/', OK], ['/missing', MISSING], ['/fail', FAILING]] as const) {
    Object.assign(truth, JSON.parse(await client.run(GO_TLS, ['client', `${web.ip}:${GO_PLAIN_PORT}`, String(n), path, 'http'])));
  }
  assert.deepEqual(truth, { 200: OK, 404: MISSING, 500: FAILING });
  await expectDelta(before, { '2xx': OK, '4xx': MISSING, '5xx': FAILING }, 'go plain', GO_PLAIN_PORT);
});

test('HTTPS requests become spans with their paths and the caller\'s trace id', async () => {
  await agent.pushNow();
  const rows = await eventually('HTTPS client spans stored', async () => {
    const r = (await server.telemetry!.store.selectSpans({ serviceName: clientId(), limit: 1000 })).filter((x) => x.kind === 3 && !String(x.attributes['http.url']).includes(`:${GO_PLAIN_PORT}/`));
    return r.length >= 20 + 15 + 31 + 23 + 30 + 22 + 9 ? r : undefined;
  });
  assert.equal(rows.length, 20 + 15 + 31 + 23 + 30 + 22 + 9, 'one client span per request (curl 20, wget 15, node 31, go 23, rustls 18 + 12, node to the rustls server 22, to the split-record server 9)');
  const byPath = (p: string) => rows.filter((r) => String(r.attributes['http.url']).endsWith(`${web.ip}${p}`)).length;
  const goPath = (p: string) => rows.filter((r) => String(r.attributes['http.url']).endsWith(`${web.ip}:${GO_PORT}${p}`)).length;
  assert.deepEqual([byPath('/'), byPath('/missing'), byPath('/fail')], [12 + 9 + 20 + 11 + 7, 5 + 4 + 7 + 4 + 3, 3 + 2 + 4 + 3 + 2]); // curl, wget, node, rustls (write, write_vectored)
  assert.deepEqual([goPath('/'), goPath('/missing'), goPath('/fail')], [15, 6, 2]);
  const rustlsServerPath = (p: string) => rows.filter((r) => String(r.attributes['http.url']).endsWith(`${web.ip}:${RUSTLS_PORT}${p}`)).length;
  assert.deepEqual([rustlsServerPath('/'), rustlsServerPath('/missing'), rustlsServerPath('/fail')], [13, 5, 4]);
  assert.ok(rows.every((r) => String(r.attributes['http.url']).startsWith('https://')), 'the scheme says the bytes came from TLS');
  const curlTrace = rows.filter((r) => r.traceId === '0af7651916cd43dd8448eb211c80319c');
  assert.equal(curlTrace.length, 20, 'curl\'s traceparent read from the plaintext');
  assert.ok(curlTrace.every((r) => r.parentSpanId === 'b7ad6b7169203331'));
});
