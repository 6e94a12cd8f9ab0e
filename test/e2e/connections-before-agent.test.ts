// Connections older than the agent, end to end: a Node HTTP server and a keep-alive client (both
// do plain read()/writev() on their sockets, never send/recv) connect and talk BEFORE the agent
// starts, so it sees neither the connect nor the accept. Requests made on that same connection
// afterwards must still be counted exactly on both sides, with the right destination: the agent
// finds the socket at its first read or write and tells the client from the server by the ports.
// The same for a gRPC channel (HTTP/2, whose client preface and HPACK table entries from before
// the agent started are never seen): its calls afterwards are counted exactly, each with its
// status or "unknown".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Agent } from '../../agent/src/agent.ts';
import { containerLabel, read, scrape, settle, startAgent, type Selection } from './request-counters.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { waitForLine } from './process-output.ts';

const PORT = 8080;
const REQUESTS = 40;
const GRPC_PORT = 50051;
// calls per status after the agent started (one of each was made before it)
const GRPC_PLAN = { OK: [0, 30], NOT_FOUND: [5, 12], UNAVAILABLE: [14, 8] } as const;
let net: StandInNetwork;
let web: StandInContainer;
let client: StandInContainer;
let clientProcess: ChildProcess;
let grpcClientProcess: ChildProcess;
let agent: Agent;

/** The child's stdout lines, and its first line, which must be "ready". */
async function readyLines(child: ChildProcess, what: string): Promise<AsyncIterator<string>> {
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, 'ready', what);
  return lines;
}
let httpLines: AsyncIterator<string>;
let grpcLines: AsyncIterator<string>;

before(async () => {
  net = new StandInNetwork('192.168.233');
  web = net.addContainer('oldweb');
  client = net.addContainer('oldclient');
  web.spawn(process.execPath, [join(import.meta.dirname, 'delayed-http-server.mjs'), String(PORT)], { stdio: 'inherit' });
  const grpcServer = web.spawn('node', [join(import.meta.dirname, 'grpc-server.mjs'), web.ip, String(GRPC_PORT)], { stdio: 'pipe' });
  await waitForLine(grpcServer, /^listening /, 20_000, 'the gRPC server to listen');
  await eventually('the server to answer', async () => {
    try { await web.run('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${PORT}/wait/0`]); return true; } catch { return undefined; }
  });
  clientProcess = client.spawn(process.execPath, [join(import.meta.dirname, 'paced-http-client.mjs'), web.ip, String(PORT), '/wait/1'], { stdio: 'pipe' });
  httpLines = await readyLines(clientProcess, 'the client connected and made its first request');
  grpcClientProcess = client.spawn('node', [join(import.meta.dirname, 'paced-grpc-client.mjs'), web.ip, String(GRPC_PORT), ...Object.values(GRPC_PLAN).map(([code, n]) => `${code}:${n}`)], { stdio: 'pipe' });
  grpcLines = await readyLines(grpcClientProcess, 'the gRPC client connected and made one call of each status');
  agent = await startAgent(); // after the connections exist: their connects and accepts are not seen
});

after(async () => {
  clientProcess?.stdin?.end();
  grpcClientProcess?.stdin?.end();
  await agent?.close();
  await net?.destroy();
});

test('requests on a keep-alive connection opened before the agent started are counted exactly, on both sides', async () => {
  const sel: Selection = {
    out: { name: 'container_http_requests_total', labels: { container_id: containerLabel(client.runtimeId), destination: `${web.ip}:${PORT}`, status: '2xx' } },
    in: { name: 'container_http_inbound_requests_total', labels: { container_id: containerLabel(web.runtimeId), status: '2xx' } },
  };
  const base = read(await scrape(agent), sel);
  assert.deepEqual(base, { out: 0, in: 0 });

  clientProcess.stdin!.write(`go ${REQUESTS}\n`);
  const truth = JSON.parse((await httpLines.next()).value as string) as Record<string, number>;
  assert.deepEqual(truth, { 200: REQUESTS }, 'the client made its requests on the old connection');
  await settle(agent, sel, base, { out: REQUESTS, in: REQUESTS });
});

test('gRPC calls on a channel opened before the agent started are counted exactly, on both sides, each with its status or "unknown"', async () => {
  const clientId = containerLabel(client.runtimeId);
  const serverId = containerLabel(web.runtimeId);
  const destination = `${web.ip}:${GRPC_PORT}`;
  const statuses = [...Object.keys(GRPC_PLAN).map((s) => `grpc:${s}`), 'unknown'];
  const sel: Selection = {};
  for (const status of statuses) {
    sel[`out ${status}`] = { name: 'container_http_requests_total', labels: { container_id: clientId, destination, status } };
    sel[`in ${status}`] = { name: 'container_http_inbound_requests_total', labels: { container_id: serverId, status } };
  }
  // every status together: a call counted under any other (2xx without grpc-status) shows here
  sel['out any'] = { name: 'container_http_requests_total', labels: { container_id: clientId, destination } };
  sel['in any'] = { name: 'container_http_inbound_requests_total', labels: { container_id: serverId } };
  const base = read(await scrape(agent), sel);

  grpcClientProcess.stdin!.write('go\n');
  const truth = JSON.parse((await grpcLines.next()).value as string) as Record<string, number>;
  assert.deepEqual(truth, Object.fromEntries(Object.entries(GRPC_PLAN).map(([s, [, n]]) => [s, n])), 'the client saw the statuses it asked for');
  const calls = Object.values(truth).reduce((a, n) => a + n, 0);
  // The totals are exact; then each status holds at most the client's count of it, the rest
  // "unknown". (Here all are unknown: after one call of each status before the agent started, the
  // server's HPACK encoder sends every grpc-status as a reference to a table entry made back then.)
  const settled = await settle(agent, { 'out any': sel['out any']!, 'in any': sel['in any']! }, base, { 'out any': calls, 'in any': calls });
  const now = read(settled, sel);
  for (const side of ['out', 'in']) {
    let known = 0;
    for (const [s, n] of Object.entries(truth)) {
      const got = now[`${side} grpc:${s}`]! - base[`${side} grpc:${s}`]!;
      assert.ok(got <= n, `${side} grpc:${s}: ${got} counted, the client saw ${n}`);
      known += got;
    }
    assert.equal(known + now[`${side} unknown`]! - base[`${side} unknown`]!, calls, `${side}: every call under its own status or unknown: ${JSON.stringify(now)}`);
  }
});
