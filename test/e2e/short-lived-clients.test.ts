// Processes that connect and exit within milliseconds (curl from a shell, a cron job) are gone
// before the agent can read /proc; their connections must still be counted, under the right
// application: /host/curl on the host, the container's id inside a container.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { Agent } from '../../agent/src/agent.ts';
import { eventually, StandInNetwork, type StandInContainer } from './stand-in-containers.ts';
import { parseExposition, pick } from './scrape.ts';

const K = 15;
const PORT = 18777;
let agent: Agent;
let listener: Server;
let net: StandInNetwork;
let box: StandInContainer;

before(async () => {
  net = new StandInNetwork('192.168.215');
  box = net.addContainer('box');
  listener = createServer((s) => { s.on('error', () => {}); s.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'); });
  await new Promise<void>((r) => listener.listen(PORT, '127.0.0.1', () => r()));
  agent = await Agent.start({
    listen: '127.0.0.1:0', cgroupfsRoot: '/sys/fs/cgroup', scrapeIntervalMs: 3_600_000,
    ephemeralPortRange: '32768-60999', minContainerAgeMs: 0, log: () => {},
  });
});

after(async () => {
  await agent?.close();
  listener?.close();
  await net?.destroy();
});

const curl = (url: string) => new Promise<void>((resolve) => execFile('curl', ['-s', '-o', '/dev/null', '--max-time', '2', url], () => resolve()));

test(`${K} curl processes on the host are counted as /host/curl`, async () => {
  for (let i = 0; i < K; i++) await curl(`http://127.0.0.1:${PORT}/`);
  const dest = { container_id: '/host/curl', destination: `127.0.0.1:${PORT}` };
  await eventually(`${K} connects from /host/curl`, async () => {
    const s = parseExposition(await (await fetch(`${agent.url}/metrics`)).text());
    return pick(s, 'container_net_tcp_successful_connects_total', dest)[0]?.value === K ? true : undefined;
  });
});

test(`${K} short-lived clients inside a container are counted under the container`, async () => {
  // Each connection attempt is its own short process in the container (refused: nothing listens).
  for (let i = 0; i < K; i++) await box.run('sh', ['-c', `curl -s --max-time 2 http://${box.ip}:9/ || true`]);
  const id = `/docker/${box.runtimeId.slice(0, 12)}`;
  await eventually(`${K} failed connects from ${id}`, async () => {
    const s = parseExposition(await (await fetch(`${agent.url}/metrics`)).text());
    return pick(s, 'container_net_tcp_failed_connects_total', { container_id: id, destination: `${box.ip}:9` })[0]?.value === K ? true : undefined;
  });
});
