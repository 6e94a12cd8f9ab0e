// Loss accounting, as root on the real kernel: requests that never get a response must be
// counted, per container, protocol and direction, and in the agent's own kernel counters by
// reason. A tiny server in one stand-in container closes on HTTP requests without answering,
// never answers Redis, Memcached or UDP DNS queries, and answers a control set of HTTP requests; a client in
// another container makes a known number of each.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Agent } from '../../agent/src/agent.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { parseExposition, pick, type ScrapedSample } from './scrape.ts';

const PORT = 7300; // closes on a request; PORT + 1 never answers; PORT + 2 answers HTTP
const HTTP_CLOSED = 7;                    // connections, one request each, closed by the server
const REDIS_ABANDONED = 5;                // connections, one command each, closed by the client
const MEMCACHED_CONNS = 4, MEMCACHED_PER_CONN = 3; // pipelined gets, closed by the client
const HTTP_ANSWERED = 6;                  // the control: answered, nothing left pending
const DNS_SOCKETS = 3, DNS_PER_SOCKET = 4;    // UDP queries never answered, sockets closed by the client
const HTTP_PROCESS_EXITED = 5;            // connections, one request each, left open by a client process that exits
// The kernel keeps a pending request in its connection's slot (8,192 slots) or, past those, in an
// 8,192-entry LRU map.
const PENDING_CAPACITY = 8192 + 8192;
const HTTP_HELD_FITTING = 6000;           // connections held open at once: 12,000 requests pending on both ends, which fit
const HTTP_HELD = 10000;                  // 20,000 pending: more than fit

let net: StandInNetwork;
let sink: StandInContainer;
let client: StandInContainer;
let agent: Agent;

before(async () => {
  net = new StandInNetwork('192.168.230');
  sink = net.addContainer('sink');
  client = net.addContainer('client');
  agent = await Agent.start({
    listen: '127.0.0.1:0', cgroupfsRoot: '/sys/fs/cgroup', scrapeIntervalMs: 3_600_000,
    ephemeralPortRange: '32768-60999', minContainerAgeMs: 0, log: (m) => console.error(`agent: ${m}`),
  });
  // The client closes first, so its ends wait in TIME_WAIT: the ~37,000 connections the tests open
  // to one address within a minute would run out of ephemeral ports without reusing them.
  await client.run('sysctl', ['-q', '-w', 'net.ipv4.tcp_tw_reuse=1']);
  const server = sink.spawn('node', [join(import.meta.dirname, 'unanswering-server.mjs'), sink.ip, String(PORT)]);
  let out = '';
  await eventually('the unanswering server to listen', () => {
    out += server.stdout?.read()?.toString() ?? '';
    return out.includes('listening') ? true : undefined;
  });
});

after(async () => {
  await agent?.close();
  await net?.destroy();
});

const scrape = async () => parseExposition(await (await fetch(`${agent.url}/metrics`)).text());
const value = (s: ScrapedSample[], name: string, labels: Record<string, string>) => pick(s, name, labels).reduce((a, x) => a + x.value, 0);
/**
 * HTTP requests left unanswered between two scrapes: the kernel's count per direction and reason
 * (keys like "outbound evicted"), the client container's outbound and the sink's inbound count.
 */
function httpUnansweredSince(before: ScrapedSample[], now: ScrapedSample[], reasons: string[], clientId: string, sinkId: string): Record<string, number> {
  const since = (name: string, labels: Record<string, string>) => value(now, name, labels) - value(before, name, labels);
  const d: Record<string, number> = {};
  for (const direction of ['outbound', 'inbound']) {
    for (const reason of reasons) d[`${direction} ${reason}`] = since('rootsight_agent_l7_unanswered_requests_total', { protocol: 'http', direction, reason });
  }
  d['client outbound'] = since('rootsight_container_unanswered_requests_total', { container_id: clientId, protocol: 'http', direction: 'outbound' });
  d['sink inbound'] = since('rootsight_container_unanswered_requests_total', { container_id: sinkId, protocol: 'http', direction: 'inbound' });
  return d;
}

test('requests that never got a response are counted per container, protocol and direction, and by reason', async () => {
  const runClient = async (port: number, protocol: string, conns: number, perConn: number, ending: string) =>
    JSON.parse(await client.run('node', [join(import.meta.dirname, 'unanswered-client.mjs'), sink.ip, String(port), protocol, String(conns), String(perConn), ending])) as { connections: number; requests: number; answered: number };

  const before = await scrape();
  const pipelined = { protocol: 'memcached', direction: 'outbound', reason: 'pipelined' };
  const pipelinedBefore = value(before, 'rootsight_agent_l7_unanswered_requests_total', pipelined);

  assert.deepEqual(await runClient(PORT, 'http', HTTP_CLOSED, 1, 'wait-for-close'), { connections: HTTP_CLOSED, requests: HTTP_CLOSED, answered: 0 });
  assert.deepEqual(await runClient(PORT + 1, 'redis', REDIS_ABANDONED, 1, 'close'), { connections: REDIS_ABANDONED, requests: REDIS_ABANDONED, answered: 0 });
  assert.deepEqual(await runClient(PORT + 1, 'memcached', MEMCACHED_CONNS, MEMCACHED_PER_CONN, 'close'),
    { connections: MEMCACHED_CONNS, requests: MEMCACHED_CONNS * MEMCACHED_PER_CONN, answered: 0 });
  assert.deepEqual(await runClient(PORT + 2, 'http', HTTP_ANSWERED, 1, 'wait-for-close'), { connections: HTTP_ANSWERED, requests: HTTP_ANSWERED, answered: HTTP_ANSWERED });
  const dnsClosed = { protocol: 'dns', direction: 'outbound', reason: 'connection_closed' };
  const dnsClosedBefore = value(before, 'rootsight_agent_l7_unanswered_requests_total', dnsClosed);
  assert.deepEqual(await runClient(PORT + 3, 'dns', DNS_SOCKETS, DNS_PER_SOCKET, 'close'), { connections: DNS_SOCKETS, requests: DNS_SOCKETS * DNS_PER_SOCKET, answered: 0 });

  const clientId = `/docker/${client.runtimeId.slice(0, 12)}`;
  const sinkId = `/docker/${sink.runtimeId.slice(0, 12)}`;
  // Each connection left exactly one request pending when it closed, on both ends: the client's
  // (outbound) and the server's (inbound). Pipelined requests behind it never get paired at all.
  const expected = {
    [`${clientId} http outbound`]: HTTP_CLOSED,
    [`${clientId} redis outbound`]: REDIS_ABANDONED,
    [`${clientId} memcached outbound`]: MEMCACHED_CONNS,
    [`${sinkId} http inbound`]: HTTP_CLOSED,
    [`${sinkId} redis inbound`]: REDIS_ABANDONED,
    [`${sinkId} memcached inbound`]: MEMCACHED_CONNS,
    // Every query of a UDP socket closed unanswered, by query id (the server's socket stays open).
    [`${clientId} dns outbound`]: DNS_SOCKETS * DNS_PER_SOCKET,
  };
  let seen = '';
  const settled = await eventually(() => `unanswered counts to match ${JSON.stringify(expected)}; last seen ${seen}`, async () => {
    const s = await scrape();
    const got: Record<string, number> = {};
    for (const x of s.filter((x) => x.name === 'rootsight_container_unanswered_requests_total')) {
      if (x.labels.container_id !== clientId && x.labels.container_id !== sinkId) continue;
      got[`${x.labels.container_id} ${x.labels.protocol} ${x.labels.direction}`] = x.value;
    }
    seen = JSON.stringify(got);
    const sorted = (o: Record<string, number>) => JSON.stringify(Object.entries(o).sort());
    return sorted(got) === sorted(expected) ? s : undefined;
  });

  // The kernel's own count by reason: every memcached get after the first on a connection was
  // written while the first was pending.
  assert.equal(value(settled, 'rootsight_agent_l7_unanswered_requests_total', pipelined) - pipelinedBefore, MEMCACHED_CONNS * (MEMCACHED_PER_CONN - 1));
  assert.equal(value(settled, 'rootsight_agent_l7_unanswered_requests_total', dnsClosed) - dnsClosedBefore, DNS_SOCKETS * DNS_PER_SOCKET);
  // The answered control requests were paired, not left pending: the client counted exactly those,
  // with status 200, and none of the unanswered ones (request events may wait a little for their
  // connection's peer, hence the polling; the destination label is not asserted: with a connection
  // per request the peer is sometimes gone before the request is recorded).
  let clientSeries = '';
  const answered = await eventually(() => `the answered requests to be counted; the client's series: ${clientSeries}`, async () => {
    const s = await scrape();
    clientSeries = JSON.stringify(pick(s, 'container_http_requests_total', { container_id: clientId }).map((x) => [x.labels, x.value])) +
      JSON.stringify(s.filter((x) => x.name.startsWith('rootsight_agent_skipped') || x.name === 'rootsight_agent_l7_kernel_events_total').map((x) => [x.labels.reason ?? x.labels.counter, x.value]));
    return value(s, 'container_http_requests_total', { container_id: clientId }) >= HTTP_ANSWERED ? s : undefined;
  });
  assert.equal(value(answered, 'container_http_requests_total', { container_id: clientId }), HTTP_ANSWERED, clientSeries);
  assert.equal(value(answered, 'container_http_requests_total', { container_id: clientId, status: '2xx' }), HTTP_ANSWERED, clientSeries);
  // Nothing was lost on the way.
  assert.equal(value(answered, 'rootsight_agent_l7_ringbuf_lost_events_total', {}), 0);
});

test('requests pending when their process exits without close() are counted as process_exited, per container', async () => {
  const reason = { protocol: 'http', direction: 'outbound', reason: 'process_exited' };
  const clientId = `/docker/${client.runtimeId.slice(0, 12)}`;
  const inContainer = (s: ScrapedSample[]) => value(s, 'rootsight_container_unanswered_requests_total', { container_id: clientId, protocol: 'http', direction: 'outbound' });
  const before = await scrape();
  const out = JSON.parse(await client.run('node', [join(import.meta.dirname, 'unanswered-client.mjs'), sink.ip, String(PORT + 1), 'http', String(HTTP_PROCESS_EXITED), '1', 'exit']));
  assert.deepEqual(out, { connections: HTTP_PROCESS_EXITED, requests: HTTP_PROCESS_EXITED, answered: 0 });
  let seen = '';
  const after = await eventually(() => `${HTTP_PROCESS_EXITED} requests counted as process_exited; last seen ${seen}`, async () => {
    const s = await scrape();
    const kernel = value(s, 'rootsight_agent_l7_unanswered_requests_total', reason) - value(before, 'rootsight_agent_l7_unanswered_requests_total', reason);
    const container = inContainer(s) - inContainer(before);
    seen = JSON.stringify({ kernel, container });
    return kernel >= HTTP_PROCESS_EXITED && container >= HTTP_PROCESS_EXITED ? s : undefined;
  });
  // Exactly those: the kernel's count by reason and the client container's count agree with the client.
  assert.equal(value(after, 'rootsight_agent_l7_unanswered_requests_total', reason) - value(before, 'rootsight_agent_l7_unanswered_requests_total', reason), HTTP_PROCESS_EXITED);
  assert.equal(inContainer(after) - inContainer(before), HTTP_PROCESS_EXITED);
});

/** `connections` held open with one request each, then closed: the unanswered counts since before. */
async function holdOneRequestEach(connections: number): Promise<{ d: Record<string, number>; seen: string }> {
  const clientId = `/docker/${client.runtimeId.slice(0, 12)}`;
  const sinkId = `/docker/${sink.runtimeId.slice(0, 12)}`;
  const before = await scrape();
  const out = JSON.parse(await client.run('node', [join(import.meta.dirname, 'unanswered-client.mjs'), sink.ip, String(PORT + 1), 'http', String(connections), '1', 'hold']));
  assert.deepEqual(out, { connections, requests: connections, answered: 0 });
  const delta = (s: ScrapedSample[]) => httpUnansweredSince(before, s, ['connection_closed', 'evicted'], clientId, sinkId);
  let seen = '';
  const after = await eventually(() => `${connections} unanswered requests on each end; last seen ${seen}`, async () => {
    const s = await scrape();
    const d = delta(s);
    seen = JSON.stringify(d);
    return d['client outbound']! >= connections && d['sink inbound']! >= connections ? s : undefined;
  });
  const d = delta(after);
  // Each end's requests, counted once: closed while still pending, or found dropped at close.
  assert.equal(d['outbound connection_closed']! + d['outbound evicted']!, connections, seen);
  assert.equal(d['inbound connection_closed']! + d['inbound evicted']!, connections, seen);
  assert.equal(d['client outbound'], connections, seen);
  assert.equal(d['sink inbound'], connections, seen);
  return { d, seen };
}

test('12,000 requests pending at once all wait in the kernel until their connections close: none dropped', async () => {
  const { d, seen } = await holdOneRequestEach(HTTP_HELD_FITTING);
  assert.equal(d['outbound connection_closed'], HTTP_HELD_FITTING, seen);
  assert.equal(d['inbound connection_closed'], HTTP_HELD_FITTING, seen);
});

test('a process that exits without close() gives its slots back: 4,000 requests counted at its exit, then 14,000 pending fit again', async () => {
  const EXITING = 4000, HELD = 7000; // were the exiting process's 4,000 slots kept, 14,000 would not fit
  const reason = { protocol: 'http', direction: 'outbound', reason: 'process_exited' };
  const before = await scrape();
  const out = JSON.parse(await client.run('node', [join(import.meta.dirname, 'unanswered-client.mjs'), sink.ip, String(PORT + 1), 'http', String(EXITING), '1', 'exit']));
  assert.deepEqual(out, { connections: EXITING, requests: EXITING, answered: 0 });
  // the server's ends close when it reads the EOF the kernel sent for the dead client's sockets
  const serverClosed = { protocol: 'http', direction: 'inbound', reason: 'connection_closed' };
  let seen = '';
  await eventually(() => `${EXITING} requests counted as process_exited, and as many server ends closed; last seen ${seen}`, async () => {
    const s = await scrape();
    const since = (labels: Record<string, string>) => value(s, 'rootsight_agent_l7_unanswered_requests_total', labels) - value(before, 'rootsight_agent_l7_unanswered_requests_total', labels);
    seen = JSON.stringify({ exited: since(reason), serverClosed: since(serverClosed) });
    return since(reason) >= EXITING && since(serverClosed) >= EXITING ? s : undefined;
  });
  const exited = value(await scrape(), 'rootsight_agent_l7_unanswered_requests_total', reason) - value(before, 'rootsight_agent_l7_unanswered_requests_total', reason);
  assert.equal(exited, EXITING);
  const { d, seen: held } = await holdOneRequestEach(HELD);
  assert.equal(d['outbound evicted']! + d['inbound evicted']!, 0, held);
});

test('requests dropped for newer ones when the slots and the pending map are full are counted as evicted, so every request is still counted once', async () => {
  const { d, seen } = await holdOneRequestEach(HTTP_HELD);
  const atLeast = 2 * HTTP_HELD - PENDING_CAPACITY;
  assert.ok(d['outbound evicted']! + d['inbound evicted']! >= atLeast, `${PENDING_CAPACITY} fit, so at least ${atLeast} were dropped: ${seen}`);
  console.log(`held ${HTTP_HELD} connections, one request each: ${seen}`);
});

test('a dropped request found at the connection\'s next request is counted then, and in its container at close', async () => {
  const clientId = `/docker/${client.runtimeId.slice(0, 12)}`;
  const sinkId = `/docker/${sink.runtimeId.slice(0, 12)}`;
  const before = await scrape();
  // Every connection sends one request, all are held, then each sends a second one. Where the first
  // waits in its connection's slot, or still in the map, the second is counted as pipelined. Where
  // the map dropped the first, the second finds its entry free: the first is counted as evicted
  // then, and the second is stored (dropping another first one).
  const out = JSON.parse(await client.run('node', [join(import.meta.dirname, 'unanswered-client.mjs'), sink.ip, String(PORT + 1), 'http', String(HTTP_HELD), '1', 'hold-twice']));
  assert.deepEqual(out, { connections: HTTP_HELD, requests: 2 * HTTP_HELD, answered: 0 });
  const delta = (s: ScrapedSample[]) => httpUnansweredSince(before, s, ['connection_closed', 'evicted', 'pipelined'], clientId, sinkId);
  let seen = '';
  const total = (d: Record<string, number>, direction: string) => d[`${direction} connection_closed`]! + d[`${direction} evicted`]! + d[`${direction} pipelined`]!;
  const after = await eventually(() => `${2 * HTTP_HELD} requests counted on each end; last seen ${seen}`, async () => {
    const s = await scrape();
    const d = delta(s);
    seen = JSON.stringify(d);
    return total(d, 'outbound') >= 2 * HTTP_HELD && total(d, 'inbound') >= 2 * HTTP_HELD && d['client outbound']! + d['outbound pipelined']! >= 2 * HTTP_HELD && d['sink inbound']! + d['inbound pipelined']! >= 2 * HTTP_HELD ? s : undefined;
  });
  const d = delta(after);
  for (const direction of ['outbound', 'inbound']) {
    assert.equal(total(d, direction), 2 * HTTP_HELD, `${direction}: every request counted once: ${seen}`);
  }
  const atLeast = 2 * HTTP_HELD - PENDING_CAPACITY;
  assert.ok(d['outbound evicted']! + d['inbound evicted']! >= atLeast, `first requests found dropped at the second, at least ${atLeast}: ${seen}`);
  // Per container, as before, a pipelined request is not the connection's to report; every other
  // one is, including those found dropped at the second request.
  assert.equal(d['client outbound'], 2 * HTTP_HELD - d['outbound pipelined']!, seen);
  assert.equal(d['sink inbound'], 2 * HTTP_HELD - d['inbound pipelined']!, seen);
  console.log(`held ${HTTP_HELD} connections, two requests each: ${seen}`);
});
