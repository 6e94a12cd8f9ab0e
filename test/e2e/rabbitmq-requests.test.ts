// RabbitMQ message tracing end to end, as root on the real kernel: rabbitmq-server (Debian) in
// one stand-in container, an amqplib client in another, which publishes a known number of
// messages (amqplib writes many publishes, each three frames, in one writev) and consumes one
// queue's share. container_rabbitmq_messages_total{method="produce"} must equal what it
// published and {method="consume"} what it was delivered, exactly (reference/node-agent.md §1.5:
// Basic.Publish and Basic.Deliver on the client side, status ok, no latency, no inbound series).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../agent/src/agent.ts';
import { StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { containerLabel, read, scrape, settle, startAgent, type Selection } from './request-counters.ts';
import { AMQP_PORT, startRabbitmq } from './rabbitmq.ts';

const CONSUMED = 180; // published to a queue the client consumes: produced and delivered
const UNCONSUMED = 70; // published to a queue nobody consumes: produced only
let net: StandInNetwork;
let broker: StandInContainer;
let client: StandInContainer;
let agent: Agent;
const work = mkdtempSync(join(tmpdir(), 'rootsight-rabbitmq-'));

before(async () => {
  net = new StandInNetwork('192.168.227');
  broker = net.addContainer('rmqsrv');
  client = net.addContainer('rmqcli');
  agent = await startAgent();
  await startRabbitmq(broker, join(work, 'broker'));
});

after(async () => {
  await agent?.close();
  await net?.destroy();
  rmSync(work, { recursive: true, force: true });
});

test('RabbitMQ messages published and delivered equal the client\'s counts', async () => {
  const clientId = containerLabel(client.runtimeId);
  const sel: Selection = {};
  for (const method of ['produce', 'consume']) {
    sel[method] = { name: 'container_rabbitmq_messages_total', labels: { container_id: clientId, destination: `${broker.ip}:${AMQP_PORT}`, method, status: 'ok' } };
  }
  sel.anyClient = { name: 'container_rabbitmq_messages_total', labels: { container_id: clientId } };
  sel.anyBroker = { name: 'container_rabbitmq_messages_total', labels: { container_id: containerLabel(broker.runtimeId) } };
  const baseline = read(await scrape(agent), sel);
  assert.deepEqual(baseline, { produce: 0, consume: 0, anyClient: 0, anyBroker: 0 });

  const truth = JSON.parse(await client.run('node', [join(import.meta.dirname, 'amqp-client.mjs'), broker.ip, String(AMQP_PORT), String(CONSUMED), String(UNCONSUMED)])) as { published: number; received: number };
  assert.deepEqual(truth, { published: CONSUMED + UNCONSUMED, received: CONSUMED });

  await settle(agent, sel, baseline, { produce: truth.published, consume: truth.received, anyClient: truth.published + truth.received, anyBroker: 0 });
});
