import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsDomains, normaliseDnsDomain, OTHER_DOMAINS } from '../src/requests/dns-domains.ts';

test('domain normalisation: reverse lookups, EC2 host names, search-path expansions', () => {
  assert.equal(normaliseDnsDomain('50.223.168.192.in-addr.arpa'), 'IP.in-addr.arpa');
  assert.equal(normaliseDnsDomain('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.'), 'IP.ip6.arpa');
  assert.equal(normaliseDnsDomain('ip-10-1-2-3.ec2.internal'), 'IP.ec2.internal');
  assert.equal(normaliseDnsDomain('ip-10-1-2-3.eu-west-1.compute.internal'), 'ip-10-1-2-3.eu-west-1.compute.internal', 'only EC2 names');
  assert.equal(normaliseDnsDomain('api.github.com.default.svc.cluster.local'), 'api.github.com.search_path_suffix');
  assert.equal(normaliseDnsDomain('registry.npmjs.org.corp.example'), 'registry.npmjs.org.search_path_suffix');
  assert.equal(normaliseDnsDomain('github.com'), 'github.com', 'a final top-level label is the name itself');
  assert.equal(normaliseDnsDomain('com.example.test'), 'com.example.test', 'a first label is never a top-level domain');
  assert.equal(normaliseDnsDomain('web.rootsight.test.'), 'web.rootsight.test', 'trailing dot dropped');
  assert.equal(normaliseDnsDomain(''), '');
});

test('AAAA answered NOERROR without answers is not counted; other answers are', () => {
  const d = new DnsDomains();
  assert.equal(d.labels('c', { method: 'TypeAAAA', domain: 'v4only.test' }, { status: 'ok', answers: 0 }), undefined);
  assert.deepEqual(d.labels('c', { method: 'TypeAAAA', domain: 'v6.test' }, { status: 'ok', answers: 1, addresses: ['fd00::1'] }), { requestType: 'TypeAAAA', domain: 'v6.test' });
  assert.deepEqual(d.labels('c', { method: 'TypeAAAA', domain: 'gone.test' }, { status: 'nxdomain', answers: 0 }), { requestType: 'TypeAAAA', domain: 'gone.test' });
  assert.deepEqual(d.labels('c', { method: 'TypeA', domain: 'empty.test' }, { status: 'ok', answers: 0 }), { requestType: 'TypeA', domain: 'empty.test' });
  assert.equal(d.labels('c', {}, { status: 'ok' }), undefined, 'no question read');
});

test('at most N distinct domains per container; the rest are ~other', () => {
  const d = new DnsDomains(3);
  const label = (c: string, name: string) => d.labels(c, { method: 'TypeA', domain: name }, { status: 'ok' })?.domain;
  assert.deepEqual(['a', 'b', 'c', 'd', 'a', 'e'].map((n) => label('one', `${n}.test`)), ['a.test', 'b.test', 'c.test', OTHER_DOMAINS, 'a.test', OTHER_DOMAINS]);
  assert.equal(label('two', 'd.test'), 'd.test', 'per container');
  assert.equal(label('one', '7.0.0.10.in-addr.arpa'), OTHER_DOMAINS);
});
