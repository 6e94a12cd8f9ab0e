// The remote-write forwarder on its own, against a local HTTP server: order, the byte bound of
// its queue, retries after 5xx, and what shutdown does with what is still queued.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { RemoteWriteForwarder } from '../src/upstream/remote-write-forwarder.ts';
import { parseUpstreamUrl, UpstreamConfigError } from '../src/upstream/upstream-url.ts';

describe('RemoteWriteForwarder', () => {
  let server: Server;
  let url = '';
  let handler: (req: IncomingMessage, body: Buffer, res: ServerResponse) => void = (_q, _b, res) => { res.writeHead(204).end(); };

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => handler(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://user:secret@127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends bodies in order with remote-write headers and the URL credentials as basic auth', async () => {
    const got: string[] = [];
    let headers: IncomingMessage['headers'] = {};
    handler = (req, body, res) => { got.push(body.toString()); headers = req.headers; res.writeHead(204).end(); };
    const f = new RemoteWriteForwarder({ endpoint: parseUpstreamUrl(url) });
    for (const b of ['one', 'two', 'three']) assert.equal(f.enqueue(Buffer.from(b)), true);
    await f.close(5000);
    assert.deepEqual(got, ['one', 'two', 'three']);
    assert.equal(headers['content-encoding'], 'snappy');
    assert.equal(headers['content-type'], 'application/x-protobuf');
    assert.equal(headers['authorization'], `Basic ${Buffer.from('user:secret').toString('base64')}`);
    const s = f.stats();
    assert.equal(s.sentBatches, 3);
    assert.equal(s.sentBytes, 11);
    assert.ok(!s.url.includes('secret'), 'credentials never shown');
  });

  it('retries after a 5xx until the upstream accepts', async () => {
    let calls = 0;
    handler = (_q, _b, res) => { calls++; res.writeHead(calls < 3 ? 503 : 204).end('busy'); };
    const f = new RemoteWriteForwarder({ endpoint: parseUpstreamUrl(url), minBackoffMs: 5, maxBackoffMs: 10 });
    f.enqueue(Buffer.from('x'));
    await f.close(5000);
    const s = f.stats();
    assert.equal(calls, 3);
    assert.equal(s.retries, 2);
    assert.equal(s.sentBatches, 1);
    assert.match(s.lastError ?? '', /^503 .*busy/);
  });

  it('bounds its queue by bytes and counts what it drops, also at shutdown', async () => {
    const pending: ServerResponse[] = [];
    handler = (_q, _b, res) => { pending.push(res); }; // the upstream hangs
    const f = new RemoteWriteForwarder({ endpoint: parseUpstreamUrl(url), maxQueueBytes: 10, requestTimeoutMs: 60_000 });
    assert.equal(f.enqueue(Buffer.alloc(6)), true);
    assert.equal(f.enqueue(Buffer.alloc(6)), false, 'over the 10-byte bound');
    assert.equal(f.enqueue(Buffer.alloc(4)), true);
    assert.deepEqual([f.stats().queuedBatches, f.stats().queuedBytes, f.stats().droppedBatches], [2, 10, 1]);
    await f.close(100);
    const s = f.stats();
    assert.equal(s.droppedBatches, 3, 'the two still queued at shutdown are dropped and counted');
    assert.equal(s.queuedBytes, 0);
    assert.equal(f.enqueue(Buffer.alloc(1)), false, 'closed');
    for (const r of pending) r.destroy();
  });
});

describe('parseUpstreamUrl', () => {
  it('derives the remote-write URL and refuses what is not an http(s) base URL', () => {
    const e = parseUpstreamUrl('http://vm:8428/');
    assert.equal(e.baseUrl, 'http://vm:8428');
    assert.equal(e.remoteWriteUrl, 'http://vm:8428/api/v1/write');
    assert.deepEqual(e.headers, {});
    assert.equal(parseUpstreamUrl('https://p:9090/prom', 'http://rw:9201/write').remoteWriteUrl, 'http://rw:9201/write');
    assert.throws(() => parseUpstreamUrl('prometheus:9090'), UpstreamConfigError);
    assert.throws(() => parseUpstreamUrl('http://p:9090/?x=1'), /has a query or fragment/);
    assert.throws(() => parseUpstreamUrl('http://p:9090', 'http://u:p@rw/write'), /put credentials in --prometheus-url/);
  });
});
