import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder, HUFFMAN_CODES, huffmanDecode } from '../src/l7/hpack.ts';
import { fromHex } from '../src/l7/util.ts';

const dec = (d: HpackDecoder, h: string) => d.decode(fromHex(h));

test('Huffman table: canonical codes match RFC 7541 Appendix B samples, and the code is complete', () => {
  let kraft = 0;
  for (const c of HUFFMAN_CODES) kraft += 2 ** -c.bits;
  assert.equal(kraft, 1);
  const samples: [number, number, number][] = [
    [0, 0x1ff8, 13], [1, 0x7fffd8, 23], [9, 0xffffea, 24], [10, 0x3ffffffc, 30], [22, 0x3ffffffe, 30], [32, 0x14, 6],
    [48, 0x0, 5], [58, 0x5c, 7], [60, 0x7ffc, 15], [92, 0x7fff0, 19], [97, 0x3, 5], [122, 0x7b, 7], [127, 0xffffffc, 28],
    [128, 0xfffe6, 20], [192, 0x3ffffe0, 26], [199, 0x1ffffec, 25], [203, 0x7ffffde, 27], [255, 0x3ffffee, 26], [256, 0x3fffffff, 30],
  ];
  for (const [sym, code, bits] of samples) assert.deepEqual(HUFFMAN_CODES[sym], { code, bits }, `symbol ${sym}`);
});

test('Huffman: RFC examples, EOS and padding errors', () => {
  assert.equal(huffmanDecode(fromHex('f1e3c2e5f23a6ba0ab90f4ff'), 0, 12), 'www.example.com');
  assert.equal(huffmanDecode(fromHex('a8eb10649cbf'), 0, 6), 'no-cache');
  assert.equal(huffmanDecode(fromHex('ffffffff'), 0, 4), undefined, 'EOS inside the string');
  assert.equal(huffmanDecode(fromHex('00'), 0, 1), undefined, 'padding not all ones');
  assert.equal(huffmanDecode(fromHex('1fff'), 0, 2), undefined, 'padding longer than 7 bits');
});

test('RFC 7541 C.2: literal with/without/never indexing, indexed', () => {
  const d = new HpackDecoder();
  assert.deepEqual(dec(d, '400a637573746f6d2d6b65790d637573746f6d2d686561646572'), [['custom-key', 'custom-header']]);
  assert.equal(d.tableSize, 55);
  const d2 = new HpackDecoder();
  assert.deepEqual(dec(d2, '040c2f73616d706c652f70617468'), [[':path', '/sample/path']]);
  assert.equal(d2.tableSize, 0);
  assert.deepEqual(dec(d2, '100870617373776f726406736563726574'), [['password', 'secret']]);
  assert.equal(d2.tableSize, 0);
  assert.deepEqual(dec(d2, '82'), [[':method', 'GET']]);
});

function requests(d: HpackDecoder, blocks: string[]) {
  const r1 = dec(d, blocks[0]);
  assert.deepEqual(r1, [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']]);
  assert.equal(d.tableSize, 57);
  assert.deepEqual(dec(d, blocks[1]), [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']]);
  assert.equal(d.tableSize, 110);
  assert.deepEqual(dec(d, blocks[2]), [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']]);
  assert.equal(d.tableSize, 164);
  assert.deepEqual(d.table(), [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']]);
}

test('RFC 7541 C.3: request examples without Huffman', () => {
  requests(new HpackDecoder(), [
    '828684410f7777772e6578616d706c652e636f6d',
    '828684be58086e6f2d6361636865',
    '828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565',
  ]);
});

test('RFC 7541 C.4: request examples with Huffman', () => {
  requests(new HpackDecoder(), [
    '828684418cf1e3c2e5f23a6ba0ab90f4ff',
    '828684be5886a8eb10649cbf',
    '828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf',
  ]);
});

function responses(d: HpackDecoder, blocks: string[]) {
  const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
  const loc = 'https://www.example.com';
  assert.deepEqual(dec(d, blocks[0]), [[':status', '302'], ['cache-control', 'private'], ['date', date1], ['location', loc]]);
  assert.equal(d.tableSize, 222);
  assert.deepEqual(dec(d, blocks[1]), [[':status', '307'], ['cache-control', 'private'], ['date', date1], ['location', loc]]);
  assert.equal(d.tableSize, 222);
  assert.deepEqual(d.table()[0], [':status', '307']);
  assert.equal(d.table().length, 4, ':status 302 was evicted');
  assert.deepEqual(dec(d, blocks[2]), [[':status', '200'], ['cache-control', 'private'], ['date', date2], ['location', loc], ['content-encoding', 'gzip'],
    ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1']]);
  assert.equal(d.tableSize, 215);
  assert.deepEqual(d.table().map((e) => e[0]), ['set-cookie', 'content-encoding', 'date']);
}

test('RFC 7541 C.5: response examples without Huffman, table size 256 (eviction)', () => {
  responses(new HpackDecoder(256), [
    '4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d',
    '4803333037c1c0bf',
    '88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31',
  ]);
});

test('RFC 7541 C.6: response examples with Huffman, table size 256 (eviction)', () => {
  responses(new HpackDecoder(256), [
    '488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3',
    '4883640effc1c0bf',
    '88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007',
  ]);
});

test('dynamic table size updates: evict, reject above the limit, only at block start', () => {
  const d = new HpackDecoder();
  dec(d, '400a637573746f6d2d6b65790d637573746f6d2d686561646572');
  assert.equal(d.tableSize, 55);
  assert.deepEqual(dec(d, '20'), []); // size update to 0 empties the table
  assert.equal(d.tableSize, 0);
  assert.equal(d.maxTableSize, 0);
  assert.deepEqual(dec(d, '3fe11f'), []); // back to 4096 (5-bit prefix integer 31 + 4065)
  assert.equal(d.maxTableSize, 4096);
  assert.equal(dec(d, '3fe21f'), undefined, '4097 is above the SETTINGS limit');
  assert.equal(new HpackDecoder().decode(fromHex('8220')), undefined, 'size update after a field');
  d.setLimit(65536);
  assert.deepEqual(dec(d, '3fe1ff03'), []);
  assert.equal(d.maxTableSize, 65536);
});

test('decoding errors: index 0, index past the table, truncated strings and integers', () => {
  for (const h of ['80', 'ff00', 'be', '410f7777', '00', '7f', 'ff8080808080', '4085', '0003616263']) {
    assert.equal(new HpackDecoder().decode(fromHex(h)), undefined, h);
  }
});

test('joined late: references to entries from before the join skip their field; entries added since resolve', () => {
  const d = new HpackDecoder();
  d.joinedLate = true;
  // 0xbe: dynamic index 1 (unknown); 0x88: :status 200 (static); then a literal with incremental
  // indexing named by unknown dynamic index 63 ("x" = "1"), and one named by static index 31
  // (content-type) that is learnt.
  const fields = d.decode(fromHex('be' + '88' + '7f00' + '0131' + '5f' + '10' + Buffer.from('application/grpc').toString('hex')));
  assert.deepEqual(fields, [[':status', '200'], ['content-type', 'application/grpc']]);
  assert.equal(d.unknownFields, 2);
  // Now dynamic index 1 is content-type (the newest), 2 the entry named by an unknown one, 3+ unknown.
  assert.deepEqual(d.decode(fromHex('be' + 'bf' + 'c0' + '88')), [['content-type', 'application/grpc'], [':status', '200']]);
  assert.equal(d.unknownFields, 2);
  // Malformed input still fails: index 0, truncation.
  assert.equal(d.decode(fromHex('80')), undefined);
  assert.equal(d.decode(fromHex('7f')), undefined);
  // A decoder that saw the connection from its start still treats an unknown index as an error.
  assert.equal(new HpackDecoder().decode(fromHex('be')), undefined);
});
