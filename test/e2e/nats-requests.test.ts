// NATS message tracing end to end, as root on the real kernel: nats-server (Debian) in one
// stand-in container, a client using the `nats` npm package in another, which subscribes,
// publishes a known number of messages (with and without headers; the client coalesces many
// PUBs into one write and the server many MSGs into one read) and receives its subscription's
// share. container_nats_messages_total{method="produce"} must equal what it published and
// {method="consume"} what it received, exactly (reference/node-agent.md §1.5: client side only,
// status ok, no latency histogram).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Agent } from '../../agent/src/agent.ts';
import { StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { containerLabel, read, scrape, settle, startAgent, type Selection } from './request-counters.ts';
import { waitForLine } from './process-output.ts';

const PORT = 4222;
const ORDERS = 150; // published to a subject the client subscribes to: produced and consumed
const AUDIT = 60; // published to a subject nobody listens to: produced only
let net: StandInNetwork;
let server: StandInContainer;
let client: StandInContainer;
let agent: Agent;

before(async () => {
  net = new StandInNetwork('192.168.226');
  server = net.addContainer('natssrv');
  client = net.addContainer('natscli');
  agent = await startAgent();
  const nats = server.spawn('nats-server', ['-a', server.ip, '-p', String(PORT)]);
  await waitForLine(nats, /Server is ready/, 20_000, 'nats-server to be ready', 'stderr');
});

after(async () => {
  await agent?.close();
  await net?.destroy();
});

test('NATS messages produced and consumed equal the client\'s counts', async () => {
  const clientId = containerLabel(client.runtimeId);
  const sel: Selection = {};
  for (const method of ['produce', 'consume']) {
    sel[method] = { name: 'container_nats_messages_total', labels: { container_id: clientId, destination: `${server.ip}:${PORT}`, method, status: 'ok' } };
  }
  sel.anyClient = { name: 'container_nats_messages_total', labels: { container_id: clientId } };
  sel.anyServer = { name: 'container_nats_messages_total', labels: { container_id: containerLabel(server.runtimeId) } };
  const baseline = read(await scrape(agent), sel);
  assert.deepEqual(baseline, { produce: 0, consume: 0, anyClient: 0, anyServer: 0 });

  const truth = JSON.parse(await client.run('node', [join(import.meta.dirname, 'nats-client.mjs'), server.ip, String(PORT), String(ORDERS), String(AUDIT)])) as { published: number; received: number };
  assert.deepEqual(truth, { published: ORDERS + AUDIT, received: ORDERS });

  // Every message counted once, with the right method and status, and the server side (inbound)
  // reports none: Coroot's families have no inbound NATS series.
  await settle(agent, sel, baseline, { produce: truth.published, consume: truth.received, anyClient: truth.published + truth.received, anyServer: 0 });
});
