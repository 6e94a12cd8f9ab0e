// The one-pass protobuf → RowBinary span path (otlp-span-rows.ts) against the object decoder:
// identical bytes for every valid request, refusal of every request the object decoder refuses
// (fuzzed), and, through a real server, the same stored rows for a request sent as protobuf and as
// JSON, every attribute value type and exact ids, events and links included.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProtobufWriter } from '@rootsight/common';
import { RawMessage, hex, jsonAttrs, mutate, pbAttrs, seededRandom, withFixed32, type Attrs, type V, assertSameRows, rowsOutcome, type RowsOutcome } from './otlp-test-requests.ts';
import { decodeTracesJson, decodeTracesProto } from '../src/ingest/otlp-decode.ts';
import { encodeTracesRequest, type SpanInput } from '../src/ingest/otlp-encode.ts';
import { encodeTracesProto } from '../src/ingest/otlp-span-rows.ts';
import { defaultOtlpLimits, type OtlpLimits } from '../src/ingest/otlp-values.ts';
import { encodeSpans } from '../src/storage/clickhouse/telemetry-store.ts';
import { removeDir, startTestServer, type TestServer } from './helpers.ts';

interface RichSpan {
  traceId: string; spanId: string; parentSpanId?: string; traceState?: string; flags?: number; name: string; kind: number;
  startNs: bigint; endNs: bigint; attributes: Attrs; status?: { code: number; message: string };
  events: { timeNs: bigint; name: string; attributes: Attrs }[];
  links: { traceId: string; spanId: string; traceState?: string; attributes: Attrs }[];
}
interface RichResource { attributes: Attrs; scopes: { name: string; version: string; spans: RichSpan[] }[] }

function pbRequest(resources: RichResource[], resourceLast = false): Uint8Array {
  const req = new ProtobufWriter();
  for (const r of resources) {
    const rs = new ProtobufWriter();
    const res = new ProtobufWriter();
    pbAttrs(res, 1, r.attributes);
    if (!resourceLast) rs.message(1, res);
    for (const sc of r.scopes) {
      const ss = new ProtobufWriter();
      for (const sp of sc.spans) {
        const m = new ProtobufWriter().bytes(1, hex(sp.traceId)).bytes(2, hex(sp.spanId));
        if (sp.traceState) m.string(3, sp.traceState);
        if (sp.parentSpanId) m.bytes(4, hex(sp.parentSpanId));
        m.string(5, sp.name).uint(6, sp.kind).fixed64(7, sp.startNs).fixed64(8, sp.endNs);
        pbAttrs(m, 9, sp.attributes);
        for (const e of sp.events) { const ev = new ProtobufWriter().fixed64(1, e.timeNs).string(2, e.name); pbAttrs(ev, 3, e.attributes); m.message(11, ev); }
        for (const l of sp.links) {
          const ln = new ProtobufWriter().bytes(1, hex(l.traceId)).bytes(2, hex(l.spanId));
          if (l.traceState) ln.string(3, l.traceState);
          pbAttrs(ln, 4, l.attributes);
          m.message(13, ln);
        }
        if (sp.status) m.message(15, new ProtobufWriter().string(2, sp.status.message).uint(3, sp.status.code));
        ss.message(2, sp.flags !== undefined ? withFixed32(m, 16, sp.flags) : m);
      }
      // The scope after its spans, as the wire allows.
      ss.message(1, new ProtobufWriter().string(1, sc.name).string(2, sc.version));
      rs.message(2, ss);
    }
    if (resourceLast) rs.message(1, res);
    req.message(1, rs);
  }
  return req.finish();
}

function jsonRequest(resources: RichResource[]): string {
  return JSON.stringify({
    resourceSpans: resources.map((r) => ({
      resource: { attributes: jsonAttrs(r.attributes) },
      scopeSpans: r.scopes.map((sc) => ({
        scope: { name: sc.name, version: sc.version },
        spans: sc.spans.map((sp) => ({
          traceId: sp.traceId, spanId: sp.spanId, parentSpanId: sp.parentSpanId ?? '', traceState: sp.traceState ?? '', flags: sp.flags ?? 0,
          name: sp.name, kind: sp.kind, startTimeUnixNano: sp.startNs.toString(), endTimeUnixNano: sp.endNs.toString(),
          attributes: jsonAttrs(sp.attributes), status: sp.status ?? {},
          events: sp.events.map((e) => ({ timeUnixNano: e.timeNs.toString(), name: e.name, attributes: jsonAttrs(e.attributes) })),
          links: sp.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId, traceState: l.traceState ?? '', attributes: jsonAttrs(l.attributes) })),
        })),
      })),
    })),
  });
}

const T = 1_736_000_000_123_456_789n;

/** Every AnyValue type, with the strings the attribute maps must hold for them. */
const everyValueType: [Attrs, Record<string, string>] = [
  [
    ['str', { s: 'héllo ✓ "quoted"' }], ['empty.str', { s: '' }], ['bool.t', { b: true }], ['bool.f', { b: false }],
    ['int', { i: 42n }], ['int.neg', { i: -42n }], ['int.big', { i: 9_007_199_254_740_993n }], ['int.min', { i: -(2n ** 63n) }],
    ['double', { d: 3.25 }], ['double.nan', { d: NaN }], ['bytes', { bytes: Uint8Array.from([0, 1, 2, 250, 255]) }],
    ['array', { arr: [{ s: 'a' }, { i: 1n }, { b: true }, { arr: [{ d: 0.5 }] }] }],
    ['kvlist', { kv: [['k', { s: 'v' }], ['n', { i: 2n }], ['inner', { kv: [['x', { b: false }]] }]] }],
    ['absent', {}],
  ],
  {
    'str': 'héllo ✓ "quoted"', 'empty.str': '', 'bool.t': 'true', 'bool.f': 'false', 'int': '42', 'int.neg': '-42',
    'int.big': '9007199254740993', 'int.min': '-9223372036854775808', 'double': '3.25', 'double.nan': 'NaN', 'bytes': 'AAEC+v8=',
    'array': '["a",1,true,[0.5]]', 'kvlist': '{"k":"v","n":2,"inner":{"x":false}}', 'absent': '',
  },
];

function richRequest(service: string): RichResource[] {
  const [attrs] = everyValueType;
  return [
    {
      attributes: [['service.name', { s: service }], ['host.name', { s: 'node-ü' }], ['pid', { i: 123n }]],
      scopes: [
        {
          name: 'scope-a', version: '1.2.3',
          spans: [
            {
              traceId: '0102030405060708090a0b0c0d0e0f10', spanId: 'a1a2a3a4a5a6a7a8', traceState: 'vendor=x', flags: 0x301, name: 'GET /é',
              kind: 2, startNs: T, endNs: T + 1_500_000n, attributes: attrs, status: { code: 2, message: 'boom ✗' },
              events: [
                { timeNs: T + 10n, name: 'exception', attributes: [['exception.type', { s: 'Error' }], ['n', { i: 7n }], ['list', { arr: [{ s: 'x' }] }]] },
                { timeNs: T + 20n, name: 'second', attributes: [] },
              ],
              links: [
                { traceId: 'ffffffffffffffffffffffffffffff01', spanId: '00000000000000ff', traceState: 'a=b', attributes: [['link.kind', { s: 'follows' }], ['w', { d: 1.5 }]] },
                { traceId: '11111111111111111111111111111111', spanId: '2222222222222222', attributes: [] },
              ],
            },
            {
              traceId: '0102030405060708090a0b0c0d0e0f10', spanId: 'b1b2b3b4b5b6b7b8', parentSpanId: 'a1a2a3a4a5a6a7a8', name: 'child', kind: 3,
              // End before start: duration 0, as the object path stores it.
              startNs: T + 100n, endNs: T + 50n, attributes: [['dup', { s: 'first' }], ['other', { i: 1n }], ['dup', { s: 'last' }]], events: [], links: [],
            },
          ],
        },
        { name: 'scope-b', version: '', spans: [{ traceId: 'fe'.repeat(16), spanId: 'ed'.repeat(8), name: 'third', kind: 0, startNs: 1n, endNs: 4_294_967_295_999_999_999n, attributes: [], events: [], links: [] }] },
      ],
    },
    {
      attributes: [['service.name', { s: `${service}-2` }]],
      scopes: [{ name: 's', version: 'v', spans: [{ traceId: '0a'.repeat(16), spanId: '0b'.repeat(8), name: 'other resource', kind: 1, startNs: T, endNs: T + 1n, attributes: [['k', { s: 'v' }]], events: [], links: [] }] }],
    },
  ];
}

// ---------------------------------------------------------------- byte-level comparison with the object decoder

function viaObjects(body: Uint8Array, limits: OtlpLimits): RowsOutcome {
  return rowsOutcome((w) => {
    const rows = decodeTracesProto(body, limits);
    encodeSpans(rows, w);
    return rows.length;
  }, 1024);
}

function assertSameOutcome(body: Uint8Array, limits: OtlpLimits, label: string): RowsOutcome {
  return assertSameRows(viaObjects(body, limits), rowsOutcome((w) => encodeTracesProto(body, limits, w), 16), label);
}

describe('one-pass span rows equal the object decoder\'s', () => {
  it('every value type, events, links, ids, repeated keys, scope after spans', () => {
    const out = assertSameOutcome(pbRequest(richRequest('rich')), defaultOtlpLimits, 'rich');
    assert.ok(out.ok && out.rows === 4);
  });

  it('resource after its scope spans', () => {
    assertSameOutcome(pbRequest(richRequest('late'), true), defaultOtlpLimits, 'resource last');
  });

  it('the SDK-shaped bodies of otlp-encode, and an empty request', () => {
    const items: SpanInput[] = Array.from({ length: 50 }, (_, i) => ({
      traceId: (i + 1).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'), name: `op${i % 3}`, kind: i % 6,
      startNs: T + BigInt(i), endNs: T + BigInt(i * 1000), attributes: { a: i, b: `x${i}`, c: i % 2 === 0, d: i / 3 },
    }));
    assertSameOutcome(encodeTracesRequest([{ attributes: { 'service.name': 'enc' }, scopes: [{ name: 's', items }] }]), defaultOtlpLimits, 'encoded');
    const empty = assertSameOutcome(new Uint8Array(0), defaultOtlpLimits, 'empty');
    assert.ok(empty.ok && empty.rows === 0);
  });

  it('limits: attributes, events and value nesting are refused the same way', () => {
    const tight: OtlpLimits = { maxAttributes: 3, maxEventsPerSpan: 1, maxValueDepth: 2 };
    const base = richRequest('limits');
    const refused = assertSameOutcome(pbRequest(base), tight, 'tight limits');
    assert.ok(!refused.ok && /more than/.test(refused.error.message));
    let deep: V = { s: 'leaf' };
    for (let i = 0; i < 20; i++) deep = { arr: [deep] };
    const deepBody = pbRequest([{ attributes: [], scopes: [{ name: 's', version: '', spans: [{ ...base[0]!.scopes[0]!.spans[1]!, attributes: [['deep', deep]] }] }] }]);
    for (const depth of [1, 5, 12, 13, 14, 15, 16, 17, 25]) assertSameOutcome(deepBody, { ...defaultOtlpLimits, maxValueDepth: depth }, `depth ${depth}`);
  });

  it('fuzz: mutated, truncated and spliced bodies are refused or stored identically, never crash', () => {
    const rnd = seededRandom(20_261_122);
    const seeds = [pbRequest(richRequest('fuzz')), pbRequest(richRequest('fuzz2'), true), encodeTracesRequest([{ attributes: { 'service.name': 'f' }, scopes: [{ name: 's', items: [{ traceId: '1'.repeat(32), spanId: '2'.repeat(16), name: 'n', startNs: T, endNs: T + 5n, attributes: { a: 1 } }] }] }])];
    let accepted = 0;
    let refused = 0;
    for (let iter = 0; iter < 6000; iter++) {
      const body = mutate(seeds[iter % seeds.length]!, iter, rnd);
      const out = assertSameOutcome(body, defaultOtlpLimits, `fuzz #${iter}`);
      if (out.ok) accepted++; else refused++;
    }
    // Both kinds of outcome were exercised.
    assert.ok(accepted > 100 && refused > 1000, `accepted ${accepted}, refused ${refused}`);
  });
});

// ---------------------------------------------------------------- through a server: protobuf and JSON store the same rows

let server: TestServer;
before(async () => { server = await startTestServer(); });
after(async () => {
  await server.close();
  removeDir(server.dataDir);
});

const post = (path: string, body: Uint8Array | string, type: string) =>
  fetch(`${server.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : Buffer.from(body), headers: { 'content-type': type } });

describe('stored spans', () => {
  it('a request sent as protobuf and as JSON reads back identical, every value type and id exact', async () => {
    const pb = await post('/v1/traces', pbRequest(richRequest('same-pb')), 'application/x-protobuf');
    assert.equal(pb.status, 200, await pb.text());
    const js = await post('/v1/traces', jsonRequest(richRequest('same-js')), 'application/json');
    assert.equal(js.status, 200, await js.text());
    const store = server.telemetry!.store;
    const [fromPb, fromJs] = [await store.selectSpans({ serviceName: 'same-pb' }), await store.selectSpans({ serviceName: 'same-js' })];
    assert.equal(fromPb.length, 3);
    const strip = (rows: typeof fromPb) => rows.map((r) => ({ ...r, serviceName: '', resourceAttributes: { ...r.resourceAttributes, 'service.name': '' } }));
    assert.deepEqual(strip(fromPb), strip(fromJs));

    // And what they hold is what was sent.
    const root = fromPb.find((r) => r.name === 'GET /é')!;
    assert.deepEqual(root.attributes, everyValueType[1]);
    assert.equal(root.traceId, '0102030405060708090a0b0c0d0e0f10');
    assert.equal(root.spanId, 'a1a2a3a4a5a6a7a8');
    assert.equal(root.parentSpanId, '');
    assert.equal(root.traceState, 'vendor=x');
    assert.equal(root.flags, 0x301);
    assert.equal(root.kind, 2);
    assert.equal(root.startNs, T);
    assert.equal(root.endNs, T + 1_500_000n);
    assert.equal(root.statusCode, 2);
    assert.equal(root.statusMessage, 'boom ✗');
    assert.deepEqual(root.resourceAttributes, { 'service.name': 'same-pb', 'host.name': 'node-ü', pid: '123' });
    assert.equal(root.scopeName, 'scope-a');
    assert.equal(root.scopeVersion, '1.2.3');
    assert.deepEqual(root.events, [
      { timeNs: T + 10n, name: 'exception', attributes: { 'exception.type': 'Error', n: '7', list: '["x"]' } },
      { timeNs: T + 20n, name: 'second', attributes: {} },
    ]);
    assert.deepEqual(root.links, [
      { traceId: 'ffffffffffffffffffffffffffffff01', spanId: '00000000000000ff', traceState: 'a=b', attributes: { 'link.kind': 'follows', w: '1.5' } },
      { traceId: '11111111111111111111111111111111', spanId: '2222222222222222', traceState: '', attributes: {} },
    ]);
    const child = fromPb.find((r) => r.name === 'child')!;
    assert.equal(child.parentSpanId, 'a1a2a3a4a5a6a7a8');
    assert.equal(child.endNs, child.startNs, 'end before start is stored as duration 0');
    assert.deepEqual(child.attributes, { dup: 'last', other: '1' });
    const third = fromPb.find((r) => r.name === 'third')!;
    assert.equal(third.endNs - third.startNs, 4_294_967_295_999_999_998n, 'a 64-bit duration is exact');
    assert.equal(third.scopeVersion, '');
  });

  it('timestamps up to the last second toUnixTimestamp can sort (2106) are stored; later ones get a 400, not a failed insert', async () => {
    const last = 4_294_967_295_999_999_999n;
    const at = (service: string, startNs: bigint): RichResource[] => [{ attributes: [['service.name', { s: service }]], scopes: [{ name: 's', version: '', spans: [{ traceId: '0c'.repeat(16), spanId: '0d'.repeat(8), name: 'edge', kind: 1, startNs, endNs: startNs, attributes: [], events: [], links: [] }] }] }];
    const ok = await post('/v1/traces', pbRequest(at('edge-ok', last)), 'application/x-protobuf');
    assert.equal(ok.status, 200, await ok.text());
    assert.equal((await server.telemetry!.store.selectSpans({ serviceName: 'edge-ok' }))[0]?.startNs, last);
    for (const [body, type] of [[pbRequest(at('edge-late', last + 1n)), 'application/x-protobuf'], [jsonRequest(at('edge-late', last + 1n)), 'application/json']] as const) {
      const r = await post('/v1/traces', body, type);
      assert.equal(r.status, 400);
      assert.match(Buffer.from(await r.arrayBuffer()).toString('latin1'), /start_?[tT]ime_?[uU]nix_?[nN]ano.*out of range.*after 2106/);
    }
  });

  it('hostile protobuf bodies get a 4xx, store nothing, and the server keeps serving', async () => {
    const store = server.telemetry!.store;
    const before = await store.count('traces');
    const rnd = seededRandom(7);
    const src = pbRequest(richRequest('hostile'));
    let expected = 0;
    let rejected = 0;
    for (let i = 0; i < 120; i++) {
      const b = Buffer.from(src);
      let body: Uint8Array = b;
      if (i % 3 === 0) body = b.subarray(0, 1 + Math.floor(rnd() * (b.length - 2)));
      else if (i % 3 === 1) for (let k = 0; k < 4; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      else body = Buffer.concat([b, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])]);
      const r = await post('/v1/traces', body, 'application/x-protobuf');
      const text = Buffer.from(await r.arrayBuffer()).toString('latin1');
      const reference = viaObjects(body, defaultOtlpLimits);
      if (r.status === 200) {
        assert.ok(reference.ok, `body ${i} was stored but the object decoder refuses it`);
        expected += reference.ok ? reference.rows : 0;
      } else {
        assert.equal(r.status, 400, `body ${i}: ${r.status} ${text}`);
        assert.ok(!reference.ok, `body ${i} was refused but the object decoder accepts it: ${text}`);
        assert.match(text, /malformed protobuf|must be|out of range|unknown|all zeros|more than|UTF-8/);
        rejected++;
      }
    }
    assert.ok(rejected >= 40, `only ${rejected} bodies were refused`);
    assert.equal(await store.count('traces'), before + expected, 'only accepted bodies were stored');
    const ok = await post('/v1/traces', pbRequest(richRequest('after-hostile')), 'application/x-protobuf');
    assert.equal(ok.status, 200);
    assert.equal((await store.selectSpans({ serviceName: 'after-hostile' })).length, 3);
  });
});
