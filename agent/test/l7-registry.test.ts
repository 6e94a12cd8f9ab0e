import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DETECTION_ORDER, L7_PARSERS, detectProtocol, parserFor } from '../src/l7/registry.ts';
import * as C from '../src/l7/testdata/captures.ts';
import * as B from '../src/l7/testdata/built.ts';
import { fromHex } from '../src/l7/util.ts';

test('every protocol has exactly one parser; the order keeps the loose HTTP/2 frame check last', () => {
  assert.deepEqual(L7_PARSERS.map((p) => p.protocol).sort(),
    ['cassandra', 'clickhouse', 'dns', 'http', 'http2', 'kafka', 'memcached', 'mongo', 'mysql', 'nats', 'postgres', 'rabbitmq', 'redis']);
  assert.equal(DETECTION_ORDER[0].parser.protocol, 'http');
  assert.equal(DETECTION_ORDER[1].parser.protocol, 'http2');
  assert.equal(DETECTION_ORDER.at(-1)!.parser.protocol, 'http2');
  assert.equal(parserFor('dns')?.protocol, 'dns');
});

test('the first request of every capture is detected as its protocol', () => {
  const first = (cs: C.Chunk[], skip = 0) => fromHex(cs.filter((c) => c.dir === 'c')[skip].hex).subarray(0, 1024);
  const cases: [string, Uint8Array][] = [
    ['http', first(C.HTTP1)], ['http', first(C.HTTP1, 6)], ['http2', first(C.GRPC)], ['http2', first(C.HTTP2)], ['postgres', first(C.POSTGRES, 1)],
    ['postgres', first(C.POSTGRES, 4)], ['mysql', first(C.MYSQL, 1)], ['mysql', first(C.MYSQL, 5)], ['redis', first(C.REDIS)], ['memcached', first(C.MEMCACHED)],
    ['dns', first(C.DNS)], ['mongo', B.MONGO_FIND], ['mongo', B.MONGO_COMPRESSED], ['kafka', B.KAFKA_PRODUCE], ['kafka', B.KAFKA_API_VERSIONS],
    ['rabbitmq', B.AMQP_PUBLISH], ['nats', B.NATS_PUB], ['nats', B.NATS_HPUB], ['clickhouse', B.CH_QUERY], ['cassandra', B.CQL_QUERY], ['cassandra', B.CQL_BATCH],
  ];
  for (const [p, b] of cases) assert.equal(detectProtocol(b)?.protocol, p, p);
});

test('later HTTP/2 client frames (no preface) fall through to the frame check; junk is undetected', () => {
  assert.equal(detectProtocol(fromHex(C.GRPC[2].hex))?.protocol, 'http2');
  assert.equal(detectProtocol(new Uint8Array(0)), undefined);
  assert.equal(detectProtocol(new TextEncoder().encode('hello there, not a protocol')), undefined);
  assert.equal(detectProtocol(fromHex(C.POSTGRES[0].hex)), undefined, 'Postgres StartupMessage');
});
