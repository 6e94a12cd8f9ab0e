import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPublicIp } from '../src/net/address.ts';
import { IpToFqdn } from '../src/requests/ip-to-fqdn.ts';

const pairs = (t: IpToFqdn) => t.collect()[0]!.samples.map((s) => `${s.labels.ip} ${s.labels.fqdn}`);

test('pairs from answers: the latest name per address, reverse lookups left out, bounded, expired after an hour unseen', () => {
  let now = 0;
  const t = new IpToFqdn(3, () => now);
  t.observe('API.Example.com.', ['10.0.0.1', '10.0.0.2']);
  t.observe('7.0.0.10.in-addr.arpa', ['10.0.0.7']);
  t.observe('', ['10.0.0.8']);
  assert.deepEqual(pairs(t), ['10.0.0.1 api.example.com', '10.0.0.2 api.example.com']);
  assert.equal(t.collect()[0]!.name, 'ip_to_fqdn');
  t.observe('cdn.example.com', ['10.0.0.1']); // the address now answers for another name
  assert.ok(pairs(t).includes('10.0.0.1 cdn.example.com'));
  now = 1_800_000;
  t.observe('db.example.com', ['fd00::1', '10.0.0.9']); // 4 pairs for 3 places: the oldest goes
  assert.deepEqual(pairs(t), ['10.0.0.1 cdn.example.com', 'fd00::1 db.example.com', '10.0.0.9 db.example.com']);
  assert.equal(t.evicted, 1);
  now = 3_700_000; // an hour after the first two answers, not after the last
  assert.deepEqual(pairs(t), ['fd00::1 db.example.com', '10.0.0.9 db.example.com']);
});

test('FQDN mode: an address of a public pool behind a name is labelled by the name; single, private or mixed answers are not', () => {
  const t = new IpToFqdn();
  t.observe('cdn.example.com', ['203.0.113.10', '203.0.113.11']);
  t.observe('single.example.com', ['203.0.113.20']);
  t.observe('mixed.example.com', ['203.0.113.30', '10.0.0.30']);
  t.observe('internal.example.com', ['10.0.0.40', '10.0.0.41']);
  t.observe('v6pool.example.com', ['2001:db8::1', '2001:db8::2']);
  assert.equal(t.destinationOf('203.0.113.11', 443), 'cdn.example.com:443');
  assert.equal(t.destinationOf('2001:db8::2', 80), 'v6pool.example.com:80');
  for (const ip of ['203.0.113.20', '203.0.113.30', '10.0.0.40', '198.51.100.1']) assert.equal(t.destinationOf(ip, 443), undefined, ip);
  // The latest answer decides: the pool shrinks to one address, which then keeps its own label.
  t.observe('cdn.example.com', ['203.0.113.10']);
  assert.equal(t.destinationOf('203.0.113.10', 443), undefined);
});

test('public and private addresses', () => {
  for (const ip of ['8.8.8.8', '203.0.113.5', '172.32.0.1', '100.128.0.1', '2001:db8::1', '::ffff:8.8.8.8']) assert.equal(isPublicIp(ip), true, ip);
  for (const ip of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '127.0.0.1', '169.254.169.254', '0.0.0.0',
    'fd00::1', 'fc00::1', 'fe80::1', 'FE80::1', '::1', '0:0:0:0:0:0:0:1', '::', '::ffff:10.0.0.1', '::ffff:127.0.0.1', 'not-an-ip']) assert.equal(isPublicIp(ip), false, ip);
});
