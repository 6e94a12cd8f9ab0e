import { test } from 'node:test';
import assert from 'node:assert/strict';
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
  assert.equal(t.fqdnOf('10.0.0.1'), 'cdn.example.com');
  now = 1_800_000;
  t.observe('db.example.com', ['fd00::1', '10.0.0.9']); // 4 pairs for 3 places: the oldest goes
  assert.deepEqual(pairs(t), ['10.0.0.1 cdn.example.com', 'fd00::1 db.example.com', '10.0.0.9 db.example.com']);
  assert.equal(t.evicted, 1);
  now = 3_700_000; // an hour after the first two answers, not after the last
  assert.deepEqual(pairs(t), ['fd00::1 db.example.com', '10.0.0.9 db.example.com']);
});
