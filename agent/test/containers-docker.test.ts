import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerMetadataClient, parseContainerInspect } from '../src/containers/docker-metadata.ts';

const ID_OK = 'a'.repeat(64);
const ID_MISSING = 'b'.repeat(64);
const ID_GARBAGE = 'c'.repeat(64);
const ID_SLOW = 'd'.repeat(64);
const ID_FLAKY = 'e'.repeat(64);

// The shape of Docker's ContainerInspect answer, trimmed to what matters plus some noise.
const inspectBody = {
  Id: ID_OK,
  Created: '2026-11-21T10:00:00.000000000Z',
  Name: '/web',
  State: { Status: 'running', Running: true, Pid: 4242 },
  Config: {
    Hostname: 'aaaaaaaaaaaa',
    Image: 'nginx:1.25',
    Env: ['PATH=/usr/bin', 'NGINX_VERSION=1.25.3', 'EMPTY='],
    Labels: { 'com.docker.compose.project': 'shop', maintainer: 'NGINX' },
  },
  Mounts: [],
  HostConfig: { LogConfig: { Type: 'json-file' } },
};

let dir: string;
let socketPath: string;
let server: Server;
const hits = new Map<string, number>();
let flakyOk = false;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rootsight-docker-'));
  socketPath = join(dir, 'docker.sock');
  server = createServer((req, res) => {
    const m = /^\/containers\/([^/]+)\/json$/.exec(req.url ?? '');
    const id = m?.[1] ?? '';
    hits.set(id, (hits.get(id) ?? 0) + 1);
    if (req.method !== 'GET' || !m) {
      res.writeHead(400).end();
    } else if (id === ID_OK) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(inspectBody));
    } else if (id === ID_GARBAGE) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"Name": "/x", "Config": {');
    } else if (id === ID_SLOW) {
      // Never answers: the client's deadline must fire.
    } else if (id === ID_FLAKY && flakyOk) {
      res.writeHead(200).end(JSON.stringify({ ...inspectBody, Id: ID_FLAKY, Name: '/flaky' }));
    } else if (id === ID_FLAKY) {
      res.writeHead(500).end('{"message":"boom"}');
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end(`{"message":"No such container: ${id}"}`);
    }
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

test('inspect returns name without slash, image, labels and env; the answer is cached', async () => {
  const problems: string[] = [];
  const client = new DockerMetadataClient({ socketPaths: [join(dir, 'absent.sock'), socketPath], onProblem: (_k, m) => problems.push(m) });
  const meta = await client.inspect(ID_OK);
  assert.deepEqual(meta, {
    name: 'web',
    image: 'nginx:1.25',
    labels: { 'com.docker.compose.project': 'shop', maintainer: 'NGINX' },
    env: { PATH: '/usr/bin', NGINX_VERSION: '1.25.3', EMPTY: '' },
  });
  const before = hits.get(ID_OK);
  assert.deepEqual(await client.inspect(ID_OK), meta);
  assert.equal(hits.get(ID_OK), before, 'second lookup is served from the cache');
  assert.deepEqual(problems, []);
});

test('concurrent lookups of one id share a request', async () => {
  const client = new DockerMetadataClient({ socketPaths: [socketPath] });
  const start = hits.get(ID_OK) ?? 0;
  const all = await Promise.all([client.inspect(ID_OK), client.inspect(ID_OK), client.inspect(ID_OK)]);
  assert.equal(all.every((m) => m?.name === 'web'), true);
  assert.equal((hits.get(ID_OK) ?? 0) - start, 1);
});

test('404 is undefined, cached for the failure period, and not reported as a problem', async () => {
  let now = 1_000_000;
  const problems: string[] = [];
  const client = new DockerMetadataClient({ socketPaths: [socketPath], now: () => now, onProblem: (_k, m) => problems.push(m) });
  assert.equal(await client.inspect(ID_MISSING), undefined);
  assert.equal(await client.inspect(ID_MISSING), undefined);
  assert.equal(hits.get(ID_MISSING), 1);
  now += 30_001;
  assert.equal(await client.inspect(ID_MISSING), undefined);
  assert.equal(hits.get(ID_MISSING), 2, 'retried after 30 s');
  assert.deepEqual(problems, []);
});

test('garbage JSON is undefined and reported under its own key', async () => {
  const problems: string[] = [];
  const client = new DockerMetadataClient({ socketPaths: [socketPath], failureTtlMs: 0, onProblem: (k, m) => problems.push(`${k}: ${m}`) });
  assert.equal(await client.inspect(ID_GARBAGE), undefined);
  assert.equal(await client.inspect(ID_GARBAGE), undefined);
  assert.equal(problems.length, 2, 'the client reports each failure; the caller logs per key');
  assert.match(problems[0]!, /^bad-json: /);
});

test('a server error is cached, then a later success replaces it', async () => {
  let now = 0;
  const client = new DockerMetadataClient({ socketPaths: [socketPath], now: () => now, onProblem: () => {} });
  assert.equal(await client.inspect(ID_FLAKY), undefined);
  flakyOk = true;
  assert.equal(await client.inspect(ID_FLAKY), undefined, 'still within the failure period');
  now += 31_000;
  assert.equal((await client.inspect(ID_FLAKY))?.name, 'flaky');
});

test('a server that never answers hits the deadline', async () => {
  const problems: string[] = [];
  const client = new DockerMetadataClient({ socketPaths: [socketPath], timeoutMs: 150, onProblem: (k) => problems.push(k) });
  assert.equal(await client.inspect(ID_SLOW), undefined);
  assert.deepEqual(problems, ['timeout']);
});

test('no socket: harmless, silent, undefined', async () => {
  const problems: string[] = [];
  const client = new DockerMetadataClient({ socketPaths: [join(dir, 'nope.sock'), '/nonexistent/docker.sock'], onProblem: (_k, m) => problems.push(m) });
  assert.equal(await client.inspect(ID_OK), undefined);
  assert.deepEqual(problems, []);
  // The default sockets do not exist on the lab machine; whatever the host has, this must not throw.
  const real = new DockerMetadataClient({ onProblem: () => {} });
  await real.inspect(ID_OK);
});

test('a socket path that is not a socket is skipped', async () => {
  const client = new DockerMetadataClient({ socketPaths: [dir] });
  assert.equal(await client.inspect(ID_OK), undefined);
});

test('malformed ids are refused before any request', async () => {
  const problems: string[] = [];
  const client = new DockerMetadataClient({ socketPaths: [socketPath], onProblem: (k) => problems.push(k) });
  const before = [...hits.values()].reduce((a, b) => a + b, 0);
  assert.equal(await client.inspect('../../version'), undefined);
  assert.equal(await client.inspect(''), undefined);
  assert.equal([...hits.values()].reduce((a, b) => a + b, 0), before);
  assert.deepEqual(problems, ['bad-id', 'bad-id']);
});

test('parseContainerInspect tolerates odd shapes', () => {
  assert.equal(parseContainerInspect('null'), undefined);
  assert.equal(parseContainerInspect('[]'), undefined);
  assert.equal(parseContainerInspect('{}'), undefined);
  assert.equal(parseContainerInspect('not json'), undefined);
  assert.deepEqual(parseContainerInspect('{"Name":"/a","Config":{"Labels":null,"Image":"x","Env":null}}'), { name: 'a', image: 'x' });
  assert.deepEqual(parseContainerInspect('{"Name":"/a","Config":{"Labels":{"k":1}}}'), { name: 'a' });
  assert.deepEqual(parseContainerInspect('{"Name":42,"Config":"x"}'), undefined);
});
