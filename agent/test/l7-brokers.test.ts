import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaParser, KAFKA_API_KEYS } from '../src/l7/kafka.ts';
import { rabbitmqParser } from '../src/l7/rabbitmq.ts';
import { natsParser } from '../src/l7/nats.ts';
import * as B from '../src/l7/testdata/built.ts';

test('Kafka: api key names, version, correlation id; responses matched by correlation id; status unknown', () => {
  assert.equal(KAFKA_API_KEYS.length, 68);
  assert.equal(KAFKA_API_KEYS[67], 'AllocateProducerIds');
  for (const m of [B.KAFKA_API_VERSIONS, B.KAFKA_METADATA, B.KAFKA_PRODUCE, B.KAFKA_FETCH]) assert.ok(kafkaParser.detectRequest(m));
  assert.deepEqual(kafkaParser.parseRequest(B.KAFKA_API_VERSIONS), {
    method: 'ApiVersions', statement: 'ApiVersions v3 correlation_id=1', apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rootsight',
  });
  const produce = kafkaParser.parseRequest(B.KAFKA_PRODUCE)!;
  assert.equal(produce.direction, 'produce');
  assert.equal(kafkaParser.parseRequest(B.KAFKA_FETCH)?.direction, 'consume');
  assert.deepEqual(kafkaParser.parseResponse(B.KAFKA_RESPONSE_3, produce), { status: 'unknown' });
  assert.equal(kafkaParser.parseResponse(B.KAFKA_RESPONSE_4, produce), undefined);
  assert.equal(kafkaParser.detectRequest(B.KAFKA_PRODUCE.subarray(0, B.KAFKA_PRODUCE.length - 1)), false, 'length + 4 must equal the size');
  const big = new Uint8Array(2000); big.set(B.KAFKA_PRODUCE); new DataView(big.buffer).setInt32(0, 1996);
  assert.ok(kafkaParser.detectRequest(big.subarray(0, 1024)), 'a request cut at the cap');
  const badKey = new Uint8Array(B.KAFKA_PRODUCE); badKey[5] = 68;
  assert.equal(kafkaParser.detectRequest(badKey), false);
});

test('RabbitMQ: Basic.Publish → produce, Basic.Deliver → consume (status ok); other frames ignored', () => {
  assert.ok(rabbitmqParser.detectRequest(B.AMQP_PUBLISH));
  assert.deepEqual(rabbitmqParser.parseRequest(B.AMQP_PUBLISH), { method: 'Basic.Publish', direction: 'produce', exchange: 'orders', routingKey: 'order.created' });
  assert.equal(rabbitmqParser.detectRequest(B.AMQP_DELIVER), false);
  assert.deepEqual(rabbitmqParser.parseRequest(B.AMQP_DELIVER), { method: 'Basic.Deliver', direction: 'consume', exchange: 'orders', routingKey: 'order.created' });
  assert.deepEqual(rabbitmqParser.parseResponse(B.AMQP_DELIVER), { status: 'ok' });
  assert.equal(rabbitmqParser.parseResponse(B.AMQP_ACK), undefined);
  assert.equal(rabbitmqParser.detectRequest(B.AMQP_ACK), false);
  assert.equal(rabbitmqParser.detectRequest(B.AMQP_PROTOCOL_HEADER), false);
  const noEnd = new Uint8Array(B.AMQP_PUBLISH); noEnd[7 + new DataView(noEnd.buffer).getUint32(3)] = 0;
  assert.equal(rabbitmqParser.detectRequest(noEnd), false, 'frame-end 0xCE required');
});

test('NATS: PUB/HPUB produce, MSG/HMSG consume, status ok', () => {
  for (const m of [B.NATS_PUB, B.NATS_PUB_REPLY, B.NATS_HPUB]) assert.ok(natsParser.detectRequest(m));
  assert.deepEqual(natsParser.parseRequest(B.NATS_PUB), { method: 'PUB', direction: 'produce', statement: 'PUB orders.created', subject: 'orders.created' });
  assert.equal(natsParser.parseRequest(B.NATS_PUB_REPLY)?.statement, 'PUB svc.req', 'tab separator');
  assert.equal(natsParser.parseRequest(B.NATS_HMSG)?.direction, 'consume');
  assert.deepEqual(natsParser.parseResponse(B.NATS_MSG), { status: 'ok' });
  assert.deepEqual(natsParser.parseResponse(B.NATS_HMSG), { status: 'ok' });
  assert.equal(natsParser.detectRequest(B.NATS_MSG), false);
  assert.equal(natsParser.detectRequest(B.NATS_PING), false);
  assert.equal(natsParser.detectRequest(new TextEncoder().encode('PUBLISH x 1\r\n')), false);
  assert.equal(natsParser.detectRequest(B.NATS_PUB.subarray(0, 10)), false, 'must end in CRLF');
});

test('NatsStream: every PUB/HPUB and MSG/HMSG once, across coalesced writes, split lines and uncaptured payload bytes', async () => {
  const { NatsStream } = await import('../src/l7/nats.ts');
  const enc = (s: string) => new TextEncoder().encode(s);
  const pub = (i: number) => `PUB orders ${`order ${i}`.length}\r\norder ${i}\r\n`;
  const hpub = 'HPUB orders reply.1 12 17\r\nNATS/1.0\r\n\r\nhello\r\n';
  const all = enc(`CONNECT {"verbose":false}\r\nPING\r\nSUB orders 1\r\n${pub(0)}${hpub}${pub(1)}${pub(2)}PING\r\n`);
  // Fed whole, and fed in every possible two-piece split: always 4 messages.
  assert.deepEqual(new NatsStream().feed(all).map((m) => m.method), ['PUB', 'HPUB', 'PUB', 'PUB']);
  for (let cut = 1; cut < all.length; cut++) {
    const s = new NatsStream();
    const n = s.feed(all.subarray(0, cut)).length + s.feed(all.subarray(cut)).length;
    assert.equal(n, 4, `split at ${cut}`);
    assert.equal(s.lostSync, 0);
  }
  // A payload the kernel did not capture entirely is skipped by its declared size.
  const big = `PUB blobs 10000\r\n${'x'.repeat(10000)}\r\n`;
  const s = new NatsStream();
  assert.equal(s.feed(enc(big).subarray(0, 4096), big.length).length, 1);
  assert.deepEqual(s.feed(enc(`MSG orders 1 5\r\nhello\r\n`)).map((m) => [m.method, m.direction, m.subject]), [['MSG', 'consume', 'orders']]);
  assert.equal(s.lostSync, 0);
  // A command line among the uncaptured bytes: counted as lost, and the next syscall starts afresh.
  const t = new NatsStream();
  const two = enc(pub(1) + pub(2));
  assert.equal(t.feed(two.subarray(0, 10), two.length).length, 0);
  assert.equal(t.lostSync, 1);
  assert.equal(t.feed(enc(pub(3))).length, 1);
  // Garbage and malformed sizes never throw.
  assert.deepEqual(new NatsStream().feed(enc('PUB x notanumber\r\nFOO bar\r\n\r\n')), []);
});

test('AmqpStream: Basic.Publish and Basic.Deliver once each, across frames split anywhere and uncaptured bodies', async () => {
  const { AmqpStream } = await import('../src/l7/rabbitmq.ts');
  const frame = (type: number, payload: number[]) => [type, 0, 1, ...[24, 16, 8, 0].map((s) => (payload.length >>> s) & 0xff), ...payload, 0xce];
  const method = (cls: number, m: number, args: number[] = []) => frame(1, [cls >> 8, cls & 0xff, m >> 8, m & 0xff, ...args]);
  const publish = [...method(60, 40, [0, 0, 0, 6, ...new TextEncoder().encode('orders'), 0]), ...frame(2, new Array(14).fill(0)), ...frame(3, [104, 105])];
  const deliver = [...method(60, 60, [3, 97, 98, 99, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]), ...frame(2, new Array(14).fill(0)), ...frame(3, [104, 105])];
  const header = [0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1];
  const written = new Uint8Array([...header, ...method(10, 11), ...publish, ...method(20, 10), ...publish, ...publish, ...frame(8, [])]);
  assert.deepEqual(new AmqpStream().feed(written).map((m) => m.method), ['Basic.Publish', 'Basic.Publish', 'Basic.Publish']);
  for (let cut = 1; cut < written.length; cut++) {
    const s = new AmqpStream();
    assert.equal(s.feed(written.subarray(0, cut)).length + s.feed(written.subarray(cut)).length, 3, `split at ${cut}`);
    assert.equal(s.lostSync, 0, `split at ${cut}`);
  }
  const read = new Uint8Array([...deliver, ...method(60, 80, new Array(9).fill(0)), ...deliver]);
  assert.deepEqual(new AmqpStream().feed(read).map((m) => [m.method, m.direction]), [['Basic.Deliver', 'consume'], ['Basic.Deliver', 'consume']]);
  // A 20000-byte body captured only in part: skipped by its frame size; the next frame is read.
  const body = frame(3, new Array(20000).fill(7));
  const s = new AmqpStream();
  assert.equal(s.feed(new Uint8Array(body.slice(0, 4096)), body.length).length, 0);
  assert.equal(s.feed(new Uint8Array(publish)).length, 1);
  assert.equal(s.lostSync, 0);
  // A wrong frame-end octet or frame type loses the syscall, not the connection.
  const bad = new Uint8Array(publish); bad[bad.length - 1] = 0;
  const u = new AmqpStream();
  u.feed(bad);
  assert.equal(u.lostSync, 1);
  assert.equal(u.feed(new Uint8Array(publish)).length, 1);
  assert.equal(new AmqpStream().feed(new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9])).length, 0);
});
