import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { decodeWriteRequest } from '@rootsight/common';
import { gather, withLabels, type MetricFamily } from '../src/export/metric-family.ts';
import { formatLabels, renderPrometheusText } from '@rootsight/common';
import { toWriteRequest } from '../src/export/remote-write-request.ts';
import { encodeWriteRequest } from '@rootsight/common';

const families: MetricFamily[] = [
  {
    name: 'container_net_tcp_successful_connects_total', help: 'Outbound TCP connections established\nsecond line \\ backslash', type: 'counter',
    samples: [
      { labels: { container_id: '/docker/web', destination: '[::1]:80', actual_destination: '[::1]:80' }, value: 3 },
      { labels: { container_id: '/k8s/ns/"quoted"\\back\nslash', destination: '10.0.0.1:5432', actual_destination: '' }, value: 1e21 },
    ],
  },
  { name: 'node_info', help: 'Node', type: 'gauge', samples: [{ labels: { hostname: 'h', kernel_version: '6.18' }, value: 1 }] },
  { name: 'container_net_tcp_active_connections', help: 'Active', type: 'gauge', samples: [{ labels: { container_id: 'a' }, value: Number.NaN }, { labels: { container_id: 'b' }, value: -Infinity }] },
  { name: 'empty_family', help: 'never shown', type: 'gauge', samples: [] },
];

test('text exposition escapes label values and help, drops empty labels and families', () => {
  const text = renderPrometheusText(families);
  assert.match(text, /# HELP container_net_tcp_successful_connects_total Outbound TCP connections established\\nsecond line \\\\ backslash\n/);
  assert.match(text, /container_id="\/k8s\/ns\/\\"quoted\\"\\\\back\\nslash"/);
  assert.ok(!text.includes('actual_destination=""'), 'empty label values are left out');
  assert.ok(text.includes(' NaN\n') && text.includes(' -Inf\n'));
  assert.ok(!text.includes('empty_family'));
  assert.equal(formatLabels({ b: '2', a: '1' }), '{a="1",b="2"}');
});

test('promtool check metrics accepts the exposition', () => {
  const text = renderPrometheusText(withLabels(gather([{ collect: () => families }]), { machine_id: 'abc' }));
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text });
  assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}\n${text}`);
});

test('promtool detects a broken exposition (the check is real)', () => {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: '# TYPE x counter\nx{a="1"} notanumber\n' });
  assert.notEqual(r.status, 0);
});

test('remote-write request carries metadata, sorted labels and one timestamp', () => {
  const req = toWriteRequest(families, 1_700_000_000_000, { instance: 'i1', job: 'rootsight-agent' });
  const back = decodeWriteRequest(encodeWriteRequest(req));
  assert.equal(back.metadata.length, 3);
  assert.deepEqual(back.metadata.find((m) => m.family === 'node_info'), { type: 'gauge', family: 'node_info', help: 'Node', unit: '' });
  const first = back.timeseries[0]!;
  assert.equal(first.labels[0]!.name, '__name__');
  const names = first.labels.slice(1).map((l) => l.name);
  assert.deepEqual(names, [...names].sort());
  assert.ok(back.timeseries.every((ts) => ts.samples.length === 1 && ts.samples[0]!.timestampMs === 1_700_000_000_000));
  assert.ok(!back.timeseries[1]!.labels.some((l) => l.name === 'actual_destination'), 'empty label omitted');
});
