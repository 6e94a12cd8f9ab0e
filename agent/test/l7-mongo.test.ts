import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mongoParser } from '../src/l7/mongo.ts';
import { renderBson } from '../src/l7/bson.ts';
import { B, MONGO_COMPRESSED, MONGO_FIND, MONGO_INSERT, MONGO_LONG, MONGO_REPLY, bsonDoc } from '../src/l7/testdata/built.ts';

test('OP_MSG section 0 rendered as compact extended JSON, every BSON type used by commands', () => {
  assert.ok(mongoParser.detectRequest(MONGO_FIND));
  const r = mongoParser.parseRequest(MONGO_FIND)!;
  assert.equal(r.method, 'find');
  assert.equal(r.statement,
    '{"find":"users","filter":{"age":{"$gt":30},"_id":{"$oid":"65a1b2c3d4e5f60718293a4b"},"name":{"$regularExpression":{"pattern":"^al","options":"i"}}},' +
    '"limit":10,"batchSize":101,"ratio":0.5,"whole":2.0,"active":true,"since":{"$date":{"$numberLong":"1700000000000"}},' +
    '"tags":["a",null,{"$minKey":1}],"bin":{"$binary":{"base64":"AQID","subType":"04"}},"ts":{"$timestamp":{"t":1700000000,"i":1}},"$db":"app"}');
  assert.ok(JSON.parse(r.statement!));
});

test('kind-1 document sequence before section 0 is skipped; OP_COMPRESSED; replies are unknown', () => {
  assert.equal(mongoParser.parseRequest(MONGO_INSERT)?.statement, '{"insert":"users","ordered":true,"$db":"app"}');
  assert.equal(mongoParser.parseRequest(MONGO_COMPRESSED)?.statement, '<compressed>');
  assert.equal(mongoParser.detectRequest(MONGO_REPLY), false);
  assert.deepEqual(mongoParser.parseResponse(MONGO_REPLY, mongoParser.parseRequest(MONGO_FIND)), { status: 'unknown' });
  assert.equal(mongoParser.parseResponse(MONGO_REPLY, mongoParser.parseRequest(MONGO_INSERT)), undefined, 'responseTo ≠ requestID');
  assert.deepEqual(mongoParser.parseResponse(MONGO_REPLY.subarray(0, 4)), { status: 'unknown' }, 'length-only first read');
  assert.equal(mongoParser.parseResponse(MONGO_FIND), undefined);
});

test('a command cut at 1024 bytes renders what is there and ends with "..."', () => {
  const cut = MONGO_LONG.subarray(0, 1024);
  assert.ok(mongoParser.detectRequest(cut));
  const st = mongoParser.parseRequest(cut)!.statement!;
  assert.ok(st.startsWith('{"insert":"logs","documents":[{"msg":"xxx'));
  assert.ok(st.endsWith('...'));
  assert.ok(st.length <= 1027);
  assert.equal(mongoParser.parseRequest(MONGO_FIND.subarray(0, 21))?.statement, '<truncated>');
});

test('BSON reader: decimal128, int64 extremes, deep nesting and bad lengths do not throw', () => {
  const one = [0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x30]; // 1E+0 → "1"
  assert.equal(renderBson(bsonDoc([['d', B.dec(one)]])).json, '{"d":{"$numberDecimal":"1"}}');
  assert.equal(renderBson(bsonDoc([['n', B.i64(-9223372036854775808n)]])).json, '{"n":-9223372036854775808}');
  let d = bsonDoc([['x', B.i32(1)]]);
  for (let i = 0; i < 100; i++) d = bsonDoc([['a', { t: 3, v: d }]]);
  const deep = renderBson(d);
  assert.equal(deep.cut, true);
  assert.ok(deep.json.includes('{...'));
  const bad = bsonDoc([['s', B.str('hello')]]);
  bad[4 + 1 + 2] = 0xff; // string length huge
  assert.equal(renderBson(bad).cut, true);
});
