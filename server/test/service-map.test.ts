// The service map from synthetic agent metrics, through ingest, storage, the PromQL engine and
// the builder. Counters are sampled every 30 s from T0 to T0+300s. The map counts with
// increase_pure(): exact, no extrapolation; the window is (T0, T0+300s], so the sample at T0 is
// the baseline and a counter growing by k per step increases by exactly 10k.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TimeSeries } from '@rootsight/common';
import { buildServiceMap } from '../src/constructor/service-map.ts';
import type { ServiceMap } from '../src/model/service-map.ts';
import { assertClose, push, removeDir, series, startTestServer, vector, type TestServer } from './helpers.ts';

const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);
const T = T0 + 300_000;
const steps = Array.from({ length: 11 }, (_, i) => T0 + 30_000 * i);

const frontend = '/docker/frontend', api = '/docker/api', worker = '/docker/worker';

function counter(name: string, labels: Record<string, string>, start: number, perStep: number): TimeSeries {
  return series(name, { ...labels, instance: labels.machine_id ?? '' }, steps.map((t, i) => [t, start + perStep * i]));
}
function gauge(name: string, labels: Record<string, string>, value: number): TimeSeries {
  return counter(name, labels, value, 0);
}
const conn = (containerId: string, machineId: string, destination: string, actual?: string): Record<string, string> => ({
  container_id: containerId, machine_id: machineId, destination, ...(actual !== undefined ? { actual_destination: actual } : {}),
});

let srv: TestServer;
let map: ServiceMap;
const edge = (source: string, target: string) => {
  const e = map.edges.find((x) => x.source === source && x.target === target);
  assert.ok(e, `edge ${source} → ${target}`);
  return e;
};

before(async () => {
  srv = await startTestServer();
  const res = await push(srv.url, [
    // The worker resolved example.com to the external address it calls (and an unrelated pair).
    gauge('ip_to_fqdn', { ip: '93.184.216.34', fqdn: 'example.com', machine_id: 'm2' }, 1),
    gauge('ip_to_fqdn', { ip: '198.51.100.7', fqdn: 'other.example', machine_id: 'm2' }, 1),
    gauge('container_info', { container_id: frontend, machine_id: 'm1', image: 'nginx' }, 1),
    gauge('container_info', { container_id: frontend, machine_id: 'm2', image: 'nginx' }, 1),
    gauge('container_info', { container_id: api, machine_id: 'm3', image: 'api' }, 1),
    gauge('container_info', { container_id: worker, machine_id: 'm3', image: 'worker' }, 1),
    gauge('container_net_tcp_listen_info', { container_id: frontend, machine_id: 'm1', listen_addr: '10.0.0.1:80', proxy: '' }, 1),
    gauge('container_net_tcp_listen_info', { container_id: api, machine_id: 'm3', listen_addr: '10.0.0.2:8080', proxy: '' }, 1),
    // A closed listener (value 0) must not count as listening.
    gauge('container_net_tcp_listen_info', { container_id: worker, machine_id: 'm3', listen_addr: '10.0.0.3:7000', proxy: '' }, 0),

    // frontend → api from two hosts, directly (20 each) and through a service IP that NATs to
    // api (10): one edge, 50 connects, two destinations.
    counter('container_net_tcp_successful_connects_total', conn(frontend, 'm1', '10.0.0.2:8080', '10.0.0.2:8080'), 100, 2),
    counter('container_net_tcp_successful_connects_total', conn(frontend, 'm2', '10.0.0.2:8080', '10.0.0.2:8080'), 300, 2),
    counter('container_net_tcp_successful_connects_total', conn(frontend, 'm1', '10.96.0.10:80', '10.0.0.2:8080'), 7, 1),
    // Failed connects carry only `destination` (10).
    counter('container_net_tcp_failed_connects_total', conn(frontend, 'm1', '10.0.0.2:8080'), 50, 1),
    gauge('container_net_tcp_active_connections', conn(frontend, 'm1', '10.0.0.2:8080', '10.0.0.2:8080'), 3),
    gauge('container_net_tcp_active_connections', conn(frontend, 'm2', '10.0.0.2:8080', '10.0.0.2:8080'), 2),

    // worker → a closed port of api: refused, attributed to api by IP (10 failures).
    counter('container_net_tcp_failed_connects_total', conn(worker, 'm3', '10.0.0.2:9999'), 20, 1),
    // worker → an outside address nobody listens on: 20 connects, 10 retransmits.
    counter('container_net_tcp_successful_connects_total', conn(worker, 'm3', '93.184.216.34:443', '93.184.216.34:443'), 1000, 2),
    counter('container_net_tcp_retransmits_total', conn(worker, 'm3', '93.184.216.34:443', '93.184.216.34:443'), 10, 1),

    // No phantom edges: a key whose counter did not move and has no open connection...
    counter('container_net_tcp_successful_connects_total', conn(worker, 'm3', '10.0.0.1:80', '10.0.0.1:80'), 5, 0),
    // ...and a key last seen before the window.
    series('container_net_tcp_successful_connects_total', { ...conn(frontend, 'm1', '10.0.0.9:5432', '10.0.0.9:5432'), instance: 'm1' }, [[T0 - 600_000, 1], [T0 - 300_000, 9]]),
    // A series born inside the window counts from zero: 7 connects, though increase() sees none.
    series('container_net_tcp_successful_connects_total', { ...conn(api, 'm3', '10.0.0.1:80', '10.0.0.1:80'), instance: 'm3' }, [[T0 + 200_000, 7], [T0 + 250_000, 7]]),
  ]);
  assert.equal(res.status, 204, await res.text());
  const r = await fetch(`${srv.url}/api/service-map?window=300&time=${T / 1000}`);
  assert.equal(r.status, 200);
  map = (await r.json()) as ServiceMap;
});

after(async () => {
  await srv.close();
  removeDir(srv.dataDir);
});

describe('service map', () => {
  it('lists applications with their instance counts', () => {
    assert.deepEqual(map.applications, [
      { id: api, instances: 1 }, { id: frontend, instances: 2 }, { id: worker, instances: 1 },
    ]);
    assert.equal(map.generatedAt, T);
  });

  it('has exactly the four real edges', () => {
    assert.deepEqual(map.edges.map((e) => [e.source, e.target]), [
      [api, frontend], [frontend, api], [worker, api], [worker, 'external:example.com:443'],
    ]);
  });

  it('a connection series born inside the window counts from zero', () => {
    const e = edge(api, frontend);
    assert.equal(e.connects, 7);
    assert.equal(e.status, 'ok');
  });

  it('frontend → api sums hosts and destinations and is critical because of failures', () => {
    const e = edge(frontend, api);
    assert.deepEqual(e.destinations, ['10.0.0.2:8080', '10.96.0.10:80']);
    assertClose(e.connects, 50, 'connects');
    assertClose(e.failures, 10, 'failures');
    assert.equal(e.retransmits, 0);
    assert.equal(e.activeConnections, 5);
    assert.equal(e.status, 'critical');
  });

  it('refused connects to a closed port point at the app owning the IP', () => {
    const e = edge(worker, api);
    assert.deepEqual(e.destinations, ['10.0.0.2:9999']);
    assert.equal(e.connects, 0);
    assertClose(e.failures, 10, 'failures');
    assert.equal(e.status, 'critical');
  });

  it('an address nobody listens on is external; retransmits make it a warning', () => {
    const e = edge(worker, 'external:example.com:443');
    assertClose(e.connects, 20, 'connects');
    assertClose(e.retransmits, 10, 'retransmits');
    assert.equal(e.failures, 0);
    assert.equal(e.status, 'warning');
  });

  it('agrees with the PromQL API on the same counters', async () => {
    const v = await vector(srv.url, `sum by (container_id) (increase_pure(container_net_tcp_successful_connects_total{container_id="${frontend}"}[300s]))`, T);
    assert.equal(v.get(JSON.stringify([['container_id', frontend]])), edge(frontend, api).connects);
    // For the series born in the window PromQL's increase() sees no increase at all, which is why the map does not use it.
    const born = `container_net_tcp_successful_connects_total{container_id="${api}"}[300s]`;
    assert.equal((await vector(srv.url, `sum(increase_pure(${born}))`, T)).get('[]'), 7);
    assert.equal((await vector(srv.url, `sum(increase(${born}))`, T)).get('[]'), 0);
  });

  it('rejects a bad window', async () => {
    const r = await fetch(`${srv.url}/api/service-map?window=-5`);
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /invalid window/);
  });

  it('defaults to the last 5 minutes', async () => {
    const before = Date.now();
    const r = await fetch(`${srv.url}/api/service-map`);
    const m = (await r.json()) as ServiceMap;
    assert.equal(r.status, 200);
    assert.ok(m.generatedAt >= before);
    assert.deepEqual(m.edges, []); // our data is from 2024
  });
});

describe('service map builder', () => {
  it('does not guess when two apps listen on the same IP', () => {
    const m = buildServiceMap({
      instances: [],
      listens: [{ containerId: 'a', listenAddr: '10.0.0.5:80' }, { containerId: 'b', listenAddr: '10.0.0.5:81' }],
      connections: [{ containerId: 'c', destination: '10.0.0.5:82', actualDestination: '', connects: 0, failures: 1, retransmits: 0, activeConnections: 0 }],
      generatedAt: 0,
    });
    assert.equal(m.edges[0]!.target, 'external:10.0.0.5:82');
  });

  it('names an external destination by the domain its callers resolved, the dialled one when NAT hid it, else by address', () => {
    const c = (destination: string, actualDestination: string) => ({ containerId: 'c', destination, actualDestination, connects: 1, failures: 0, retransmits: 0, activeConnections: 0 });
    const m = buildServiceMap({
      instances: [], listens: [],
      connections: [c('203.0.113.5:443', '203.0.113.5:443'), c('[2001:db8::5]:443', ''), c('198.51.100.9:5432', '10.0.0.9:5432'), c('198.51.100.10:80', '')],
      fqdnByIp: new Map([['203.0.113.5', 'api.example.com'], ['2001:db8::5', 'v6.example.com'], ['198.51.100.9', 'db.example.com']]),
      generatedAt: 0,
    });
    assert.deepEqual(m.edges.map((e) => e.target).sort(), ['external:198.51.100.10:80', 'external:api.example.com:443', 'external:db.example.com:5432', 'external:v6.example.com:443']);
  });

  it('matches IPv6 listen addresses by IP', () => {
    const m = buildServiceMap({
      instances: [],
      listens: [{ containerId: 'a', listenAddr: '[fd00::1]:80' }],
      connections: [{ containerId: 'c', destination: '[fd00::1]:81', actualDestination: '', connects: 0, failures: 2, retransmits: 0, activeConnections: 0 }],
      generatedAt: 0,
    });
    assert.equal(m.edges[0]!.target, 'a');
  });
});
