// gRPC request tracing end to end, as root on the real kernel: a @grpc/grpc-js server in one
// stand-in container, a grpc-js client in another making a known number of unary calls per
// status over one HTTP/2 connection (many streams, HPACK dynamic table in use). gRPC is reported
// under the HTTP families with status grpc:<NAME> (reference/node-agent.md §1.5); the agent's
// outbound counters for the client and inbound counters for the server must equal the client's
// own per-status counts exactly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../agent/src/agent.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { parseExposition, pick, type ScrapedSample } from './scrape.ts';
import { waitForLine } from './process-output.ts';

const PORT = 50051; // gRPC's usual port; the agent keeps it although it is in the ephemeral range
// gRPC status code → calls the client asks to end that way.
const PLAN: Record<string, [code: number, calls: number]> = {
  'grpc:OK': [0, 70], 'grpc:NOT_FOUND': [5, 17], 'grpc:INTERNAL': [13, 11], 'grpc:UNAVAILABLE': [14, 9],
};
let net: StandInNetwork;
let serverCt: StandInContainer;
let clientCt: StandInContainer;
let agent: Agent;
const work = mkdtempSync(join(tmpdir(), 'rootsight-grpc-'));

before(async () => {
  net = new StandInNetwork('192.168.224');
  serverCt = net.addContainer('grpcsrv');
  clientCt = net.addContainer('grpccli');
  agent = await Agent.start({
    listen: '127.0.0.1:0', cgroupfsRoot: '/sys/fs/cgroup', scrapeIntervalMs: 3_600_000,
    ephemeralPortRange: '32768-60999', minContainerAgeMs: 0, log: (m) => console.error(`agent: ${m}`),
  });
  const srv = serverCt.spawn('node', [join(import.meta.dirname, 'grpc-server.mjs'), serverCt.ip, String(PORT)]);
  await waitForLine(srv, /^listening /, 20_000, 'the gRPC server to listen');
});

after(async () => {
  await agent?.close();
  await net?.destroy();
  rmSync(work, { recursive: true, force: true });
});

test('gRPC calls by status equal the client\'s, on both sides', async () => {
  const scrape = async () => parseExposition(await (await fetch(`${agent.url}/metrics`)).text());
  const serverId = `/docker/${serverCt.runtimeId.slice(0, 12)}`;
  const clientId = `/docker/${clientCt.runtimeId.slice(0, 12)}`;
  const count = (s: ScrapedSample[], side: 'out' | 'in', status: string) => side === 'out'
    ? pick(s, 'container_http_requests_total', { container_id: clientId, status, destination: `${serverCt.ip}:${PORT}` })[0]?.value ?? 0
    : pick(s, 'container_http_inbound_requests_total', { container_id: serverId, status })[0]?.value ?? 0;
  const before = await scrape();
  for (const status of Object.keys(PLAN)) {
    assert.equal(count(before, 'out', status) + count(before, 'in', status), 0, `no ${status} calls before the client ran`);
  }

  const args = Object.values(PLAN).map(([code, n]) => `${code}:${n}`);
  const truth = JSON.parse(await clientCt.run('node', [join(import.meta.dirname, 'grpc-client.mjs'), serverCt.ip, String(PORT), ...args])) as Record<string, number>;
  assert.deepEqual(truth, Object.fromEntries(Object.entries(PLAN).map(([status, [, n]]) => [status.slice(5), n])), 'the client saw the statuses the server was asked for');

  const want: Record<string, number> = {};
  for (const [status, [, n]] of Object.entries(PLAN)) { want[`out ${status}`] = n; want[`in ${status}`] = n; }
  let seen = '';
  const settled = await eventually(() => `gRPC counters to match ${JSON.stringify(want)}; last seen ${seen}`, async () => {
    const s = await scrape();
    const got: Record<string, number> = {};
    for (const status of Object.keys(PLAN)) { got[`out ${status}`] = count(s, 'out', status); got[`in ${status}`] = count(s, 'in', status); }
    // Any other status (unknown, 2xx without grpc-status...) on these series would be a miscount.
    const other = [...pick(s, 'container_http_requests_total', { container_id: clientId }), ...pick(s, 'container_http_inbound_requests_total', { container_id: serverId })]
      .filter((x) => !(x.labels.status! in PLAN));
    seen = JSON.stringify(got) + JSON.stringify(other.map((x) => [x.name, x.labels.status, x.value]))
      + JSON.stringify(s.filter((x) => x.name.startsWith('rootsight_agent_skipped') || x.name.startsWith('rootsight_agent_l7')).map((x) => [x.labels.reason ?? x.labels.counter, x.value]));
    return JSON.stringify(got) === JSON.stringify(want) && other.length === 0 ? s : undefined;
  });
  const calls = Object.values(PLAN).reduce((a, [, n]) => a + n, 0);
  const histogram = pick(settled, 'container_http_requests_duration_seconds_total_count', { container_id: clientId, destination: `${serverCt.ip}:${PORT}` })[0]?.value;
  assert.equal(histogram, calls, 'one latency observation per call');
  const sum = pick(settled, 'container_http_requests_duration_seconds_total_sum', { container_id: clientId, destination: `${serverCt.ip}:${PORT}` })[0]?.value ?? 0;
  assert.ok(sum > 0 && sum / calls < 0.5, `mean latency ${sum / calls}s is positive and below 500 ms on a local bridge`);
});
