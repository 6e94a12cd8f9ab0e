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
