// gRPC request tracing end to end, as root on the real kernel: a @grpc/grpc-js server in one
// stand-in container, a grpc-js client in another making a known number of unary calls per
// status over one HTTP/2 connection (many streams, HPACK dynamic table in use). gRPC is reported
// under the HTTP families with status grpc:<NAME> (reference/node-agent.md §1.5); the agent's
// outbound counters for the client and inbound counters for the server must equal the client's
// own per-status counts exactly.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Agent } from '../../agent/src/agent.ts';
import { StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { pick } from './scrape.ts';
import { containerLabel, read, scrape, settle, startAgent, type Selection } from './request-counters.ts';
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

before(async () => {
  net = new StandInNetwork('192.168.224');
  serverCt = net.addContainer('grpcsrv');
  clientCt = net.addContainer('grpccli');
  agent = await startAgent();
  const srv = serverCt.spawn('node', [join(import.meta.dirname, 'grpc-server.mjs'), serverCt.ip, String(PORT)]);
  await waitForLine(srv, /^listening /, 20_000, 'the gRPC server to listen');
});

after(async () => {
  await agent?.close();
  await net?.destroy();
});

test('gRPC calls by status equal the client\'s, on both sides', async () => {
  const serverId = containerLabel(serverCt.runtimeId);
  const clientId = containerLabel(clientCt.runtimeId);
  const destination = `${serverCt.ip}:${PORT}`;
  const sel: Selection = {};
  for (const status of Object.keys(PLAN)) {
    sel[`out ${status}`] = { name: 'container_http_requests_total', labels: { container_id: clientId, destination, status } };
    sel[`in ${status}`] = { name: 'container_http_inbound_requests_total', labels: { container_id: serverId, status } };
  }
  // Every status together: a call counted under any other status (unknown, 2xx without grpc-status) shows here.
  sel['out any'] = { name: 'container_http_requests_total', labels: { container_id: clientId } };
  sel['in any'] = { name: 'container_http_inbound_requests_total', labels: { container_id: serverId } };
  const baseline = read(await scrape(agent), sel);
  assert.ok(Object.values(baseline).every((v) => v === 0), `no calls before the client ran: ${JSON.stringify(baseline)}`);

  const args = Object.values(PLAN).map(([code, n]) => `${code}:${n}`);
  const truth = JSON.parse(await clientCt.run('node', [join(import.meta.dirname, 'grpc-client.mjs'), serverCt.ip, String(PORT), ...args])) as Record<string, number>;
  assert.deepEqual(truth, Object.fromEntries(Object.entries(PLAN).map(([status, [, n]]) => [status.slice(5), n])), 'the client saw the statuses the server was asked for');

  const calls = Object.values(PLAN).reduce((a, [, n]) => a + n, 0);
  const want: Record<string, number> = {};
  for (const [status, [, n]] of Object.entries(PLAN)) { want[`out ${status}`] = n; want[`in ${status}`] = n; }
  want['out any'] = calls;
  want['in any'] = calls;
  const settled = await settle(agent, sel, baseline, want);
  const histogram = pick(settled, 'container_http_requests_duration_seconds_total_count', { container_id: clientId, destination })[0]?.value;
  assert.equal(histogram, calls, 'one latency observation per call');
  const sum = pick(settled, 'container_http_requests_duration_seconds_total_sum', { container_id: clientId, destination })[0]?.value ?? 0;
  assert.ok(sum > 0 && sum / calls < 0.5, `mean latency ${sum / calls}s is positive and below 500 ms on a local bridge`);
});
