import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dnsParser, dnsTypeName, readName } from '../src/l7/dns.ts';
import { DNS } from '../src/l7/testdata/captures.ts';
import { fromHex } from '../src/l7/util.ts';

const q = DNS.filter((c) => c.dir === 'c').map((c) => fromHex(c.hex));
const r = DNS.filter((c) => c.dir === 's').map((c) => fromHex(c.hex));
const withRcode = (b: Uint8Array, rcode: number) => { const o = new Uint8Array(b); o[3] = (o[3] & 0xf0) | rcode; return o; };

test('c-ares → dnsmasq capture: question types and names, A/AAAA answers, CNAME chain', () => {
  assert.ok(q.every((x) => dnsParser.detectRequest(x)));
  assert.deepEqual(q.map((x) => [dnsParser.parseRequest(x)?.method, dnsParser.parseRequest(x)?.domain]), [
    ['TypeA', 'svc.test'], ['TypeAAAA', 'svc.test'], ['TypeA', 'multi.test'], ['TypeA', 'alias.test'], ['TypeA', 'nope.example'],
    ['TypeMX', 'svc.test'], ['TypePTR', '3.2.1.10.in-addr.arpa'], ['TypeTXT', 'svc.test'], ['TypeSRV', '_http._tcp.svc.test'],
  ]);
  assert.deepEqual(dnsParser.parseResponse(r[0], dnsParser.parseRequest(q[0])), { status: 'ok', code: 0, answers: 1, addresses: ['10.1.2.3'] });
  assert.deepEqual(dnsParser.parseResponse(r[1]), { status: 'ok', code: 0, answers: 1, addresses: ['fd00::1'] });
  assert.deepEqual(dnsParser.parseResponse(r[2])?.addresses, ['10.0.0.1', '10.0.0.2']);
  assert.deepEqual(dnsParser.parseResponse(r[3])?.addresses, ['10.0.0.2', '10.0.0.1'], 'CNAME answer skipped, compressed names followed');
  assert.deepEqual(dnsParser.parseResponse(r[4]), { status: 'refused', code: 5, answers: 0 });
  assert.deepEqual(dnsParser.parseResponse(r[6]), { status: 'ok', code: 0, answers: 1 }, 'PTR: an answer, no addresses');
  assert.equal(dnsParser.parseResponse(r[0], dnsParser.parseRequest(q[1])), undefined, 'id mismatch');
  assert.equal(dnsParser.detectRequest(r[0]), false, 'QR=1');
  assert.deepEqual(dnsParser.parseRequest(r[0])?.domain, 'svc.test', 'the question is read from responses too');
});

test('every RCODE mapping; other RCODEs dropped', () => {
  const names = ['ok', 'format_error', 'servfail', 'nxdomain', 'not_implemented', 'refused'];
  names.forEach((n, i) => assert.equal(dnsParser.parseResponse(withRcode(r[4], i))?.status, n));
  for (const rc of [6, 9, 15]) assert.equal(dnsParser.parseResponse(withRcode(r[4], rc)), undefined);
});

test('compression pointers: loops and forward pointers are rejected, TCP length prefix accepted', () => {
  const loop = fromHex('0001000000010000000000000161c00c00010001'); // name at 12: "a" then pointer to 12
  assert.equal(readName(loop, 12), undefined);
  assert.equal(dnsParser.parseRequest(loop), undefined);
  const self = fromHex('000100000001000000000000c00c00010001');
  assert.equal(readName(self, 12), undefined);
  const fwd = fromHex('000100000001000000000000c01000010001');
  assert.equal(readName(fwd, 12), undefined);
  const tcp = new Uint8Array(q[0].length + 2);
  tcp[1] = q[0].length; tcp.set(q[0], 2);
  assert.deepEqual(dnsParser.parseRequest(tcp)?.domain, 'svc.test');
  assert.equal(dnsTypeName(28), 'TypeAAAA');
  assert.equal(dnsTypeName(65), 'TypeHTTPS');
  assert.equal(dnsTypeName(99), '99');
});
