// Messages of the protocols without a server on this machine, built byte by byte from their public
// specs (AMQP 0-9-1, NATS client protocol, Kafka protocol guide, MongoDB wire protocol + BSON 1.1,
// ClickHouse native protocol, CQL v4). Field values mirror what the usual clients send.

const enc = new TextEncoder();
export const bytes = (...parts: (number[] | Uint8Array | string)[]): Uint8Array => {
  const arrs = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrs.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrs) { out.set(a, o); o += a.length; }
  return out;
};
export const be16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
export const be32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
export const le32 = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
const le64 = (n: bigint): number[] => { const o: number[] = []; for (let i = 0n; i < 8n; i++) o.push(Number((n >> (8n * i)) & 0xffn)); return o; };
const shortstr = (s: string): Uint8Array => bytes([enc.encode(s).length], s);
const varuint = (n: number): number[] => { const o: number[] = []; do { let b = n & 0x7f; n = Math.floor(n / 128); if (n) b |= 0x80; o.push(b); } while (n); return o; };
const chstr = (s: string): Uint8Array => bytes(varuint(enc.encode(s).length), s);

// ---- AMQP 0-9-1
function amqpFrame(type: number, channel: number, payload: Uint8Array): Uint8Array {
  return bytes([type], be16(channel), be32(payload.length), payload, [0xce]);
}
export const AMQP_PUBLISH = bytes(
  amqpFrame(1, 1, bytes(be16(60), be16(40), be16(0), shortstr('orders'), shortstr('order.created'), [0])),
  amqpFrame(2, 1, bytes(be16(60), be16(0), [0, 0, 0, 0, 0, 0, 0, 5], be16(0x9000), shortstr('text/plain'), [2])),
  amqpFrame(3, 1, bytes('hello')),
);
export const AMQP_DELIVER = bytes(
  amqpFrame(1, 1, bytes(be16(60), be16(60), shortstr('amq.ctag-xyz'), [0, 0, 0, 0, 0, 0, 0, 1], [0], shortstr('orders'), shortstr('order.created'))),
  amqpFrame(2, 1, bytes(be16(60), be16(0), [0, 0, 0, 0, 0, 0, 0, 5], be16(0))),
  amqpFrame(3, 1, bytes('hello')),
);
export const AMQP_ACK = amqpFrame(1, 1, bytes(be16(60), be16(80), [0, 0, 0, 0, 0, 0, 0, 1], [0]));
export const AMQP_PROTOCOL_HEADER = bytes('AMQP', [0, 0, 9, 1]);

// ---- NATS
export const NATS_PUB = bytes('PUB orders.created 5\r\nhello\r\n');
export const NATS_PUB_REPLY = bytes('PUB\tsvc.req _INBOX.abc 2\r\nhi\r\n');
export const NATS_HPUB = bytes('HPUB orders.created 22 27\r\nNATS/1.0\r\nTrace: 1\r\n\r\nhello\r\n');
export const NATS_MSG = bytes('MSG orders.created 1 5\r\nhello\r\n');
export const NATS_HMSG = bytes('HMSG orders.created 1 22 27\r\nNATS/1.0\r\nTrace: 1\r\n\r\nhello\r\n');
export const NATS_PING = bytes('PING\r\n');

// ---- Kafka
function kafkaReq(key: number, ver: number, corr: number, clientId: string, body: Uint8Array): Uint8Array {
  const inner = bytes(be16(key), be16(ver), be32(corr), be16(clientId.length), clientId, body);
  return bytes(be32(inner.length), inner);
}
export const KAFKA_API_VERSIONS = kafkaReq(18, 3, 1, 'rootsight', bytes([0], [10], 'kafkajs-x', [6], '2.2.4', [0]));
export const KAFKA_METADATA = kafkaReq(3, 9, 2, 'rootsight', bytes([0], [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7], 'orders', [0], [1, 0, 0, 0]));
export const KAFKA_PRODUCE = kafkaReq(0, 7, 3, 'rootsight', bytes(be16(0xffff), be16(0xffff), be32(30000), be32(1), be16(6), 'orders', be32(1), be32(0), be32(10), new Uint8Array(10)));
export const KAFKA_FETCH = kafkaReq(1, 11, 4, 'rootsight', bytes(be32(0xffffffff), be32(500), be32(1), be32(52428800), [0], be32(0), be32(0xffffffff)));
export const KAFKA_RESPONSE_3 = bytes(be32(10), be32(3), be32(1), [0, 0]);
export const KAFKA_RESPONSE_4 = bytes(be32(10), be32(4), be32(0), [0, 0]);

// ---- MongoDB: a tiny BSON writer
type BsonValue = { t: number; v: Uint8Array };
const cstr = (s: string): Uint8Array => bytes(s, [0]);
export function bsonDoc(fields: [string, BsonValue][]): Uint8Array {
  const body = bytes(...fields.map(([k, v]) => bytes([v.t], cstr(k), v.v)), [0]);
  return bytes(le32(body.length + 4), body);
}
export const B = {
  str: (s: string): BsonValue => ({ t: 2, v: bytes(le32(enc.encode(s).length + 1), s, [0]) }),
  i32: (n: number): BsonValue => ({ t: 0x10, v: Uint8Array.from(le32(n)) }),
  i64: (n: bigint): BsonValue => ({ t: 0x12, v: Uint8Array.from(le64(n)) }),
  dbl: (n: number): BsonValue => { const b = new Uint8Array(8); new DataView(b.buffer).setFloat64(0, n, true); return { t: 1, v: b }; },
  bool: (x: boolean): BsonValue => ({ t: 8, v: Uint8Array.from([x ? 1 : 0]) }),
  nul: (): BsonValue => ({ t: 0x0a, v: new Uint8Array(0) }),
  doc: (f: [string, BsonValue][]): BsonValue => ({ t: 3, v: bsonDoc(f) }),
  arr: (items: BsonValue[]): BsonValue => ({ t: 4, v: bsonDoc(items.map((v, i) => [String(i), v])) }),
  oid: (hex: string): BsonValue => ({ t: 7, v: Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16))) }),
  date: (ms: bigint): BsonValue => ({ t: 9, v: Uint8Array.from(le64(ms)) }),
  bin: (sub: number, data: number[]): BsonValue => ({ t: 5, v: bytes(le32(data.length), [sub], data) }),
  regex: (p: string, o: string): BsonValue => ({ t: 0x0b, v: bytes(cstr(p), cstr(o)) }),
  ts: (t: number, i: number): BsonValue => ({ t: 0x11, v: bytes(le32(i), le32(t)) }),
  dec: (hex16le: number[]): BsonValue => ({ t: 0x13, v: Uint8Array.from(hex16le) }),
  min: (): BsonValue => ({ t: 0xff, v: new Uint8Array(0) }),
};
export function opMsg(requestId: number, responseTo: number, doc: Uint8Array, seq?: { id: string; docs: Uint8Array[] }): Uint8Array {
  const sections: Uint8Array[] = [];
  if (seq) {
    const inner = bytes(cstr(seq.id), ...seq.docs);
    sections.push(bytes([1], le32(inner.length + 4), inner));
  }
  sections.push(bytes([0], doc));
  const body = bytes(le32(0), ...sections);
  return bytes(le32(body.length + 16), le32(requestId), le32(responseTo), le32(2013), body);
}
export const MONGO_FIND_DOC = bsonDoc([
  ['find', B.str('users')],
  ['filter', B.doc([['age', B.doc([['$gt', B.i32(30)]])], ['_id', B.oid('65a1b2c3d4e5f60718293a4b')], ['name', B.regex('^al', 'i')]])],
  ['limit', B.i32(10)],
  ['batchSize', B.i64(101n)],
  ['ratio', B.dbl(0.5)],
  ['whole', B.dbl(2)],
  ['active', B.bool(true)],
  ['since', B.date(1700000000000n)],
  ['tags', B.arr([B.str('a'), B.nul(), B.min()])],
  ['bin', B.bin(4, [1, 2, 3])],
  ['ts', B.ts(1700000000, 1)],
  ['$db', B.str('app')],
]);
export const MONGO_FIND = opMsg(7, 0, MONGO_FIND_DOC);
export const MONGO_INSERT = opMsg(8, 0, bsonDoc([['insert', B.str('users')], ['ordered', B.bool(true)], ['$db', B.str('app')]]),
  { id: 'documents', docs: [bsonDoc([['name', B.str('alice')]]), bsonDoc([['name', B.str('bob')]])] });
export const MONGO_REPLY = opMsg(99, 7, bsonDoc([['cursor', B.doc([['firstBatch', B.arr([])], ['id', B.i64(0n)], ['ns', B.str('app.users')]])], ['ok', B.dbl(1)]]));
export const MONGO_COMPRESSED = bytes(le32(16 + 9 + 5), le32(9), le32(0), le32(2012), le32(2013), le32(100), [2], [1, 2, 3, 4, 5]);
export const MONGO_LONG = opMsg(10, 0, bsonDoc([['insert', B.str('logs')], ['documents', B.arr([B.doc([['msg', B.str('x'.repeat(1500))]])])], ['$db', B.str('app')]]));

// ---- ClickHouse native protocol (revision 54460 / 54449 layouts; older layout at 54441)
export function chQuery(query: string, opts: { revision?: number; queryId?: string; settings?: [string, string][] } = {}): Uint8Array {
  const rev = opts.revision ?? 54460;
  const parts: (number[] | Uint8Array)[] = [[1], chstr(opts.queryId ?? '')];
  parts.push([1], chstr(''), chstr(''), chstr('[::ffff:127.0.0.1]:0'));
  if (rev >= 54449) parts.push(new Uint8Array(8));
  parts.push([1], chstr('root'), chstr('host1'), chstr('ClickHouse client'), varuint(23), varuint(8), varuint(rev));
  if (rev >= 54060) parts.push(chstr(''));
  if (rev >= 54448) parts.push(varuint(0));
  if (rev >= 54401) parts.push(varuint(1));
  if (rev >= 54442) parts.push([0]);
  if (rev >= 54453) parts.push(varuint(0), varuint(0), varuint(0));
  for (const [k, v] of opts.settings ?? []) parts.push(chstr(k), varuint(0), chstr(v));
  parts.push(chstr(''));
  if (rev >= 54441) parts.push(chstr(''));
  parts.push(varuint(2), varuint(0), chstr(query));
  if (rev >= 54459) parts.push(chstr(''));
  return bytes(...parts);
}
export const CH_QUERY = chQuery('SELECT count() FROM system.tables', { queryId: '0f8fad5b-d9cb-469f-a165-70867728950e', settings: [['max_threads', '4']] });
export const CH_QUERY_OLD = chQuery('SELECT 1', { revision: 54441 });
export const CH_DATA = bytes([1, 0, 1, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 1, 1], chstr('count()'), chstr('UInt64'), new Uint8Array(8));
export const CH_DATA_COMPRESSED = bytes([1, 0], new Uint8Array(16), [0x82], le32(20), le32(11), new Uint8Array(11));
export const CH_EXCEPTION = bytes([2], le32(60), chstr('DB::Exception'), chstr("DB::Exception: Table default.nope doesn't exist"), chstr(''), [0]);
export const CH_END = bytes([5]);
export const CH_PROGRESS = bytes([3, 1, 10, 0, 0, 0, 0]);

// ---- Cassandra CQL v4
function cql(version: number, stream: number, opcode: number, body: Uint8Array): Uint8Array {
  return bytes([version, 0], be16(stream & 0xffff), [opcode], be32(body.length), body);
}
const longstr = (s: string): Uint8Array => bytes(be32(enc.encode(s).length), s);
export const CQL_QUERY = cql(4, 5, 0x07, bytes(longstr('SELECT * FROM ks.users WHERE id = 1'), be16(1), [0]));
export const CQL_EXECUTE = cql(4, 6, 0x0a, bytes(be16(4), [0xde, 0xad, 0xbe, 0xef], be16(1), [0]));
export const CQL_BATCH = cql(4, 7, 0x0d, bytes([0], be16(1), [0], longstr("INSERT INTO ks.t (a) VALUES ('x')"), be16(0), be16(1), [0]));
export const CQL_RESULT = cql(0x84, 5, 0x08, bytes(be32(1)));
export const CQL_ERROR = cql(0x84, 5, 0x00, bytes(be32(0x2200), be16(13), 'unconfigured!'));
export const CQL_OPTIONS = cql(4, 0, 0x05, new Uint8Array(0));
export const CQL_V5_QUERY = cql(5, 300, 0x07, bytes(longstr('SELECT now() FROM system.local'), be16(1), be32(0)));
