// Connections older than the agent, end to end: a Node HTTP server and a keep-alive client (both
// do plain read()/writev() on their sockets, never send/recv) connect and talk BEFORE the agent
// starts, so it sees neither the connect nor the accept. Requests made on that same connection
// afterwards must still be counted exactly on both sides, with the right destination: the agent
// finds the socket at its first read or write and tells the client from the server by the ports.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Agent } from '../../agent/src/agent.ts';
import { containerLabel, read, scrape, settle, startAgent, type Selection } from './request-counters.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';

const PORT = 8080;
const REQUESTS = 40;
let net: StandInNetwork;
let web: StandInContainer;
let client: StandInContainer;
let clientProcess: ChildProcess;
let agent: Agent | undefined;

before(async () => {
  net = new StandInNetwork('192.168.233');
  web = net.addContainer('oldweb');
  client = net.addContainer('oldclient');
  web.spawn(process.execPath, [join(import.meta.dirname, 'delayed-http-server.mjs'), String(PORT)], { stdio: 'inherit' });
  await eventually('the server to answer', async () => {
    try { await web.run('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${PORT}/wait/0`]); return true; } catch { return undefined; }
  });
});

after(async () => {
  clientProcess?.stdin?.end();
  await agent?.close();
  await net?.destroy();
});

test('requests on a keep-alive connection opened before the agent started are counted exactly, on both sides', async () => {
  clientProcess = client.spawn(process.execPath, [join(import.meta.dirname, 'paced-http-client.mjs'), web.ip, String(PORT), '/wait/1'], { stdio: 'pipe' });
  const lines = createInterface({ input: clientProcess.stdout! })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, 'ready', 'the client connected and made its first request');

  agent = await startAgent(); // after the connection exists: its connect and accept are not seen
  const sel: Selection = {
    out: { name: 'container_http_requests_total', labels: { container_id: containerLabel(client.runtimeId), destination: `${web.ip}:${PORT}`, status: '2xx' } },
    in: { name: 'container_http_inbound_requests_total', labels: { container_id: containerLabel(web.runtimeId), status: '2xx' } },
  };
  const base = read(await scrape(agent), sel);
  assert.deepEqual(base, { out: 0, in: 0 });

  clientProcess.stdin!.write(`go ${REQUESTS}\n`);
  const truth = JSON.parse((await lines.next()).value as string) as Record<string, number>;
  assert.deepEqual(truth, { 200: REQUESTS }, 'the client made its requests on the old connection');
  await settle(agent, sel, base, { out: REQUESTS, in: REQUESTS });
});
