import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { renderPrometheusText } from '@rootsight/common';
import { RequestMetrics } from '../src/requests/request-metrics.ts';

test('HTTP requests: counters by status, histogram with default buckets, inbound without destinations', () => {
  const m = new RequestMetrics();
  const out = { containerId: '/docker/client', direction: 'outbound' as const, protocol: 'http' as const, destination: '10.0.0.2:80' };
  for (const d of [0.001, 0.004, 0.02, 0.3, 12]) m.observe({ ...out, status: '2xx', durationSeconds: d });
  m.observe({ ...out, status: '5xx', durationSeconds: 0.007 });
  m.observe({ containerId: '/docker/web', direction: 'inbound', protocol: 'http', status: '2xx', durationSeconds: 0.002 });
  const text = renderPrometheusText(m.collect());
  assert.match(text, /^container_http_requests_total\{actual_destination="10\.0\.0\.2:80",container_id="\/docker\/client",destination="10\.0\.0\.2:80",status="2xx"\} 5$/m);
  assert.match(text, /^container_http_requests_total\{.*status="5xx"\} 1$/m);
  assert.match(text, /^# TYPE container_http_requests_duration_seconds_total histogram$/m);
  const bucket = (le: string) => Number(new RegExp(`^container_http_requests_duration_seconds_total_bucket\\{actual_destination="10.0.0.2:80",container_id="/docker/client",destination="10.0.0.2:80",le="${le.replace('+', '\\+')}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
  assert.equal(bucket('0.005'), 2);
  assert.equal(bucket('0.01'), 3);
  assert.equal(bucket('0.025'), 4);
  assert.equal(bucket('0.5'), 5);
  assert.equal(bucket('10'), 5);
  assert.equal(bucket('+Inf'), 6);
  assert.match(text, /^container_http_requests_duration_seconds_total_count\{.*container_id="\/docker\/client".*\} 6$/m);
  assert.match(text, /^container_http_inbound_requests_total\{container_id="\/docker\/web",status="2xx"\} 1$/m);
  assert.ok(!/inbound.*destination=/.test(text), 'inbound series carry no destination');
});

test('DNS, RabbitMQ and NATS label sets', () => {
  const m = new RequestMetrics();
  m.observe({ containerId: '/a', direction: 'outbound', protocol: 'dns', status: 'nxdomain', durationSeconds: 0.001, destination: '10.0.0.53:53', requestType: 'TypeA', domain: 'nope.example' });
  m.observe({ containerId: '/a', direction: 'outbound', protocol: 'rabbitmq', status: 'ok', method: 'produce', destination: '10.0.0.5:5672' });
  m.observe({ containerId: '/a', direction: 'inbound', protocol: 'nats', status: 'ok', method: 'consume' });
  const text = renderPrometheusText(m.collect());
  assert.match(text, /^container_dns_requests_total\{container_id="\/a",domain="nope\.example",request_type="TypeA",status="nxdomain"\} 1$/m);
  assert.match(text, /^container_rabbitmq_messages_total\{.*method="produce",status="ok"\} 1$/m);
  assert.ok(!text.includes('rabbitmq_messages_duration'), 'no latency for messages');
  assert.ok(!text.includes('nats_inbound'), 'no inbound NATS series');
});

test('the series cap holds and counts what it drops', () => {
  const m = new RequestMetrics(3);
  for (let i = 0; i < 10; i++) m.observe({ containerId: '/a', direction: 'inbound', protocol: 'redis', status: `s${i}` });
  assert.equal(m.overflow, 7);
});

test('a flood of new DNS names past the cap is counted as overflow, not stored', () => {
  const m = new RequestMetrics(3);
  for (let i = 0; i < 1000; i++) m.observe({ containerId: '/a', direction: 'outbound', protocol: 'dns', status: 'ok', durationSeconds: 0.001, requestType: 'TypeA', domain: `n${i}.example.` });
  // The first name takes a counter and a histogram, the second a counter (its histogram finds no
  // room); each of the 998 later observations finds no room at all.
  assert.equal(m.overflow, 1 + 998);
  const families = m.collect();
  assert.deepEqual(families.map((f) => [f.name, new Set(f.samples.map((x) => x.labels.domain)).size]), [
    ['container_dns_requests_total', 2], ['container_dns_requests_duration_seconds_total', 1],
  ]);
});

test('promtool parses the histogram exposition; its only complaint is the _total suffix Coroot\'s names carry', () => {
  const m = new RequestMetrics();
  m.observe({ containerId: '/a', direction: 'outbound', protocol: 'postgres', status: 'ok', durationSeconds: 0.01, destination: '10.0.0.9:5432' });
  const r = spawnSync('promtool', ['check', 'metrics'], { input: renderPrometheusText(m.collect()), encoding: 'utf8' });
  const complaints = `${r.stdout}${r.stderr}`.trim().split('\n').filter(Boolean);
  assert.notEqual(r.status, 1, `parse error: ${complaints.join('\n')}`);
  assert.ok(complaints.every((l) => /container_postgres_queries_duration_seconds_total.*_total/.test(l)), complaints.join('\n'));
});
