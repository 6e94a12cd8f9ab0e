// The one-pass protobuf → RowBinary log path (otlp-log-rows.ts) against the object decoder:
// identical bytes for valid requests, the same refusals on fuzzed ones, and through a real server
// the same stored rows for one request sent as protobuf and as JSON.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProtobufWriter } from '@rootsight/common';
import { decodeLogsProto } from '../src/ingest/otlp-decode.ts';
import { encodeLogsRequest } from '../src/ingest/otlp-encode.ts';
import { encodeLogsProto } from '../src/ingest/otlp-log-rows.ts';
import { defaultOtlpLimits, type OtlpLimits } from '../src/ingest/otlp-values.ts';
import { encodeLogs } from '../src/storage/clickhouse/telemetry-store.ts';
import { removeDir, startTestServer, type TestServer } from './helpers.ts';
import { hex, jsonAttrs, mutate, pbAttrs, pbValue, seededRandom, withFixed32, jsonValue, type Attrs, type V, assertSameRows, rowsOutcome, type RowsOutcome } from './otlp-test-requests.ts';

interface RichLog {
  timeNs?: bigint; observedNs?: bigint; severityNumber?: number; severityText?: string; body?: V; attributes: Attrs;
  flags?: number; traceId?: string; spanId?: string; eventName?: string;
}
interface RichLogResource { attributes: Attrs; scopes: { name: string; version: string; records: RichLog[] }[] }

function pbLogRequest(resources: RichLogResource[]): Uint8Array {
  const req = new ProtobufWriter();
  for (const r of resources) {
    const rl = new ProtobufWriter();
    const res = new ProtobufWriter();
    pbAttrs(res, 1, r.attributes);
    for (const sc of r.scopes) {
      const sl = new ProtobufWriter().message(1, new ProtobufWriter().string(1, sc.name).string(2, sc.version));
      for (const lr of sc.records) {
        const m = new ProtobufWriter();
        if (lr.timeNs !== undefined) m.fixed64(1, lr.timeNs);
        if (lr.severityNumber !== undefined) m.uint(2, lr.severityNumber);
        if (lr.severityText !== undefined) m.string(3, lr.severityText);
        if (lr.body !== undefined) m.message(5, pbValue(lr.body));
        pbAttrs(m, 6, lr.attributes);
        if (lr.traceId) m.bytes(9, hex(lr.traceId));
        if (lr.spanId) m.bytes(10, hex(lr.spanId));
        if (lr.observedNs !== undefined) m.fixed64(11, lr.observedNs);
        if (lr.eventName !== undefined) m.string(12, lr.eventName);
        sl.message(2, lr.flags !== undefined ? withFixed32(m, 8, lr.flags) : m);
      }
      rl.message(2, sl);
    }
    // The resource after its scopes, as the wire allows.
    rl.message(1, res);
    req.message(1, rl);
  }
  return req.finish();
}

function jsonLogRequest(resources: RichLogResource[]): string {
  return JSON.stringify({
    resourceLogs: resources.map((r) => ({
      resource: { attributes: jsonAttrs(r.attributes) },
      scopeLogs: r.scopes.map((sc) => ({
        scope: { name: sc.name, version: sc.version },
        logRecords: sc.records.map((lr) => ({
          timeUnixNano: (lr.timeNs ?? 0n).toString(), observedTimeUnixNano: (lr.observedNs ?? 0n).toString(),
          severityNumber: lr.severityNumber ?? 0, severityText: lr.severityText ?? '', ...(lr.body !== undefined ? { body: jsonValue(lr.body) } : {}),
          attributes: jsonAttrs(lr.attributes), flags: lr.flags ?? 0, traceId: lr.traceId ?? '', spanId: lr.spanId ?? '', eventName: lr.eventName ?? '',
        })),
      })),
    })),
  });
}

const T = 1_736_000_000_987_654_321n;

function richLogs(service: string): RichLogResource[] {
  return [
    {
      attributes: [['service.name', { s: service }], ['host.name', { s: 'node-ø' }]],
      scopes: [
        {
          name: 'logger', version: '2.0',
          records: [
            {
              timeNs: T, observedNs: T + 5n, severityNumber: 17, severityText: 'ERROR', body: { s: 'failed: ✗ "x"' }, flags: 1,
              traceId: '0102030405060708090a0b0c0d0e0f10', spanId: 'a1a2a3a4a5a6a7a8', eventName: 'app.failure',
              attributes: [['str', { s: 'v' }], ['int', { i: -7n }], ['double', { d: 0.25 }], ['bool', { b: true }], ['bytes', { bytes: Uint8Array.from([1, 2, 3]) }],
                ['array', { arr: [{ s: 'a' }, { i: 2n }] }], ['kvlist', { kv: [['k', { s: 'v' }]] }], ['dup', { s: 'first' }], ['dup', { s: 'last' }]],
            },
            // Only an observed time: it is the event time too.
            { observedNs: T + 100n, severityNumber: 9, body: { kv: [['msg', { s: 'structured' }], ['n', { i: 3n }]] }, attributes: [] },
            // Only an event time: it is the observed time too.
            { timeNs: T + 200n, body: { arr: [{ s: 'x' }, { b: false }] }, attributes: [['a', { s: 'b' }]] },
            { timeNs: T + 300n, body: { i: 42n }, attributes: [] },
            { timeNs: T + 400n, body: { d: 1.5 }, attributes: [] },
            { timeNs: T + 500n, attributes: [] }, // no body
          ],
        },
      ],
    },
  ];
}

const nowNs = 1_736_000_100_000_000_000n;

function viaObjects(body: Uint8Array, limits: OtlpLimits): RowsOutcome {
  return rowsOutcome((w) => {
    const rows = decodeLogsProto(body, limits, nowNs);
    encodeLogs(rows, w);
    return rows.length;
  }, 1024);
}

function assertSameOutcome(body: Uint8Array, limits: OtlpLimits, label: string): RowsOutcome {
  return assertSameRows(viaObjects(body, limits), rowsOutcome((w) => encodeLogsProto(body, limits, nowNs, w), 16), label);
}

describe('one-pass log rows equal the object decoder\'s', () => {
  it('every body and attribute type, time fallbacks, ids, flags, event name', () => {
    const out = assertSameOutcome(pbLogRequest(richLogs('rich')), defaultOtlpLimits, 'rich');
    assert.ok(out.ok && out.rows === 6);
    const items = Array.from({ length: 30 }, (_, i) => ({ timeNs: T + BigInt(i), severityNumber: 9, severityText: 'INFO', body: `line ${i}`, attributes: { i, t: `w${i}` } }));
    assertSameOutcome(encodeLogsRequest([{ attributes: { 'service.name': 'enc' }, scopes: [{ name: 's', items }] }]), defaultOtlpLimits, 'encoded');
  });

  it('a record with no time at all gets the receive time', () => {
    const out = assertSameOutcome(pbLogRequest([{ attributes: [], scopes: [{ name: '', version: '', records: [{ body: { s: 'x' }, attributes: [] }] }] }]), defaultOtlpLimits, 'no time');
    assert.ok(out.ok);
    assert.equal(out.bytes.readBigInt64LE(0), nowNs);
    assert.equal(out.bytes.readBigInt64LE(8), nowNs);
  });

  it('fuzz: mutated bodies are refused or stored identically, never crash', () => {
    const rnd = seededRandom(424_242);
    const seeds = [pbLogRequest(richLogs('fuzz')), encodeLogsRequest([{ attributes: { 'service.name': 'f' }, scopes: [{ name: 's', items: [{ timeNs: T, body: 'hello', attributes: { a: 1 }, traceId: '1'.repeat(32), spanId: '2'.repeat(16) }] }] }])];
    let accepted = 0;
    let refused = 0;
    for (let iter = 0; iter < 6000; iter++) {
      const out = assertSameOutcome(mutate(seeds[iter % seeds.length]!, iter, rnd), defaultOtlpLimits, `fuzz #${iter}`);
      if (out.ok) accepted++; else refused++;
    }
    assert.ok(accepted > 100 && refused > 1000, `accepted ${accepted}, refused ${refused}`);
  });
});

let server: TestServer;
before(async () => { server = await startTestServer(); });
after(async () => {
  await server.close();
  removeDir(server.dataDir);
});

const post = (body: Uint8Array | string, type: string) =>
  fetch(`${server.url}/v1/logs`, { method: 'POST', body: typeof body === 'string' ? body : Buffer.from(body), headers: { 'content-type': type } });

describe('stored log records', () => {
  it('a request sent as protobuf and as JSON reads back identical', async () => {
    assert.equal((await post(pbLogRequest(richLogs('logs-pb')), 'application/x-protobuf')).status, 200);
    assert.equal((await post(jsonLogRequest(richLogs('logs-js')), 'application/json')).status, 200);
    const store = server.telemetry!.store;
    const [fromPb, fromJs] = [await store.selectLogs({ serviceName: 'logs-pb' }), await store.selectLogs({ serviceName: 'logs-js' })];
    assert.equal(fromPb.length, 6);
    const strip = (rows: typeof fromPb) => rows.map((r) => ({ ...r, serviceName: '', resourceAttributes: { ...r.resourceAttributes, 'service.name': '' } }));
    assert.deepEqual(strip(fromPb), strip(fromJs));
    const first = fromPb.find((r) => r.eventName === 'app.failure')!;
    assert.deepEqual(first, {
      timeNs: T, observedNs: T + 5n, traceId: '0102030405060708090a0b0c0d0e0f10', spanId: 'a1a2a3a4a5a6a7a8', flags: 1, severityText: 'ERROR',
      severityNumber: 17, serviceName: 'logs-pb', body: 'failed: ✗ "x"', resourceAttributes: { 'service.name': 'logs-pb', 'host.name': 'node-ø' },
      scopeName: 'logger', scopeVersion: '2.0', eventName: 'app.failure',
      attributes: { str: 'v', int: '-7', double: '0.25', bool: 'true', bytes: 'AQID', array: '["a",2]', kvlist: '{"k":"v"}', dup: 'last' },
    });
    const structured = fromPb.find((r) => r.observedNs === T + 100n)!;
    assert.equal(structured.timeNs, T + 100n);
    assert.equal(structured.body, '{"msg":"structured","n":3}');
    assert.deepEqual(fromPb.map((r) => r.body).slice(2), ['["x",false]', '42', '1.5', '']);
  });

  it('hostile protobuf bodies get a 400 and store nothing; the server keeps serving', async () => {
    const store = server.telemetry!.store;
    const before = await store.count('logs');
    const rnd = seededRandom(99);
    const src = pbLogRequest(richLogs('hostile'));
    let expected = 0;
    let rejected = 0;
    for (let i = 0; i < 90; i++) {
      const body = mutate(src, i % 3 === 2 ? 5 : i % 3, rnd); // overwritten bytes, truncation, garbage
      const r = await post(body, 'application/x-protobuf');
      const reference = viaObjects(body, defaultOtlpLimits);
      if (r.status === 200) { assert.ok(reference.ok, `body ${i} stored but refused by the object decoder`); expected += reference.ok ? reference.rows : 0; }
      else { assert.equal(r.status, 400, await r.text()); assert.ok(!reference.ok, `body ${i} refused but accepted by the object decoder`); rejected++; }
    }
    assert.ok(rejected >= 30, `only ${rejected} refused`);
    assert.equal(await store.count('logs'), before + expected);
    assert.equal((await post(pbLogRequest(richLogs('after')), 'application/x-protobuf')).status, 200);
    assert.equal((await store.selectLogs({ serviceName: 'after' })).length, 6);
  });
});
