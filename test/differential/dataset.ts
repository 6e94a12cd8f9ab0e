// Deterministic series fed identically to Prometheus (as an OpenMetrics backfill) and to Rootsight
// (as remote write): counters with resets, gauges (some with NaN), histograms with `le` buckets,
// series that start and stop mid-range, and Coroot-like container/node metrics.

export interface GenSeries { name: string; labels: Record<string, string>; samples: [number, number][] }

/** Mulberry32: a tiny seeded PRNG, so every run generates the same data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const scrapeIntervalMs = 15_000;
export const spanMs = 60 * 60_000;

/** Whole-second timestamps: OpenMetrics carries seconds, and fractions would not round-trip. */
export function generate(baseMs: number, seed = 42): GenSeries[] {
  const r = rng(seed);
  const out: GenSeries[] = [];
  const times = (fromFrac = 0, toFrac = 1): number[] => {
    const ts: number[] = [];
    for (let t = baseMs + fromFrac * spanMs; t <= baseMs + toFrac * spanMs; t += scrapeIntervalMs) {
      ts.push(Math.round((t + Math.floor(r() * 4) * 1000) / 1000) * 1000);
    }
    return ts;
  };
  const counter = (name: string, labels: Record<string, string>, rate: number, opts: { resets?: number; from?: number; to?: number; start?: number } = {}): void => {
    let v = opts.start ?? Math.floor(r() * 1000);
    const ts = times(opts.from, opts.to);
    const resetAt = new Set<number>();
    for (let i = 0; i < (opts.resets ?? 0); i++) resetAt.add(5 + Math.floor(r() * (ts.length - 10)));
    out.push({
      name, labels, samples: ts.map((t, i) => {
        if (resetAt.has(i)) v = Math.floor(r() * 3);
        else v += Math.round(rate * (0.5 + r()) * 15 * 100) / 100;
        return [t, v];
      }),
    });
  };
  const gauge = (name: string, labels: Record<string, string>, base: number, amp: number, opts: { from?: number; to?: number; nanEvery?: number } = {}): void => {
    out.push({
      name, labels, samples: times(opts.from, opts.to).map((t, i) => [t, opts.nanEvery && i % opts.nanEvery === 7 ? NaN : Math.round((base + amp * (r() - 0.5)) * 1000) / 1000]),
    });
  };

  const containers = ['/k8s/default/frontend-1', '/k8s/default/frontend-2', '/k8s/shop/catalog-1', '/k8s/shop/orders-1'];
  const destinations = ['10.0.0.5:5432', '10.0.0.6:6379', '10.0.0.7:80'];
  const machines = ['m1', 'm2'];
  containers.forEach((c, ci) => {
    const machine = machines[ci % 2]!;
    gauge('container_info', { container_id: c, machine_id: machine, image: `img${ci}` }, 1, 0);
    gauge('container_net_tcp_listen_info', { container_id: c, listen_addr: `10.1.0.${ci}:8080`, proxy: '' }, 1, 0);
    gauge('container_memory_rss', { container_id: c, machine_id: machine }, 2e8 + ci * 1e7, 5e7);
    counter('container_resources_cpu_usage_seconds_total', { container_id: c, machine_id: machine }, 0.2 + ci * 0.1, { resets: ci === 2 ? 1 : 0 });
    destinations.forEach((d, di) => {
      if ((ci + di) % 4 === 3) return;
      const l = { container_id: c, destination: d, actual_destination: d.replace('10.0.0', '10.2.0'), machine_id: machine };
      const partial = ci === 3 && di === 0 ? { from: 0.3, to: 0.7 } : {};
      counter('container_net_tcp_successful_connects_total', l, 1 + di, { resets: (ci + di) % 3 === 0 ? 2 : 0, ...partial });
      counter('container_net_tcp_failed_connects_total', l, 0.05 * (di + 1), partial);
      counter('container_net_tcp_retransmits_total', l, 0.3, partial);
      counter('container_net_tcp_bytes_sent_total', l, 3000 + 500 * di, partial);
      counter('container_net_tcp_bytes_received_total', l, 9000 + 700 * di, partial);
      gauge('container_net_tcp_active_connections', l, 10 + di * 3, 6, partial);
      counter('container_net_latency_seconds_total', l, 0.002, partial);
    });
    // HTTP: requests by status and a latency histogram per destination.
    for (const status of ['200', '500']) {
      counter('container_http_requests_total', { container_id: c, destination: '10.0.0.7:80', status }, status === '200' ? 20 : 0.7, { resets: ci === 1 ? 1 : 0 });
    }
    const bounds = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];
    const ts = times();
    const cum = bounds.map(() => 0);
    const bucketSeries = bounds.map((le) => ({ name: 'container_http_requests_duration_seconds_total_bucket', labels: { container_id: c, destination: '10.0.0.7:80', le }, samples: [] as [number, number][] }));
    const sum: [number, number][] = [], count: [number, number][] = [];
    let total = 0, sumV = 0;
    for (const t of ts) {
      const n = Math.floor(r() * 40) + 5;
      for (let k = 0; k < n; k++) {
        const lat = Math.exp(Math.log(0.03 + ci * 0.02) + (r() - 0.5) * 3);
        sumV += lat;
        for (let b = 0; b < bounds.length; b++) if (bounds[b] === '+Inf' || lat <= Number(bounds[b])) cum[b]!++;
      }
      total += n;
      bucketSeries.forEach((s, b) => s.samples.push([t, cum[b]!]));
      sum.push([t, Math.round(sumV * 1e6) / 1e6]);
      count.push([t, total]);
    }
    out.push(...bucketSeries);
    out.push({ name: 'container_http_requests_duration_seconds_total_sum', labels: { container_id: c, destination: '10.0.0.7:80' }, samples: sum });
    out.push({ name: 'container_http_requests_duration_seconds_total_count', labels: { container_id: c, destination: '10.0.0.7:80' }, samples: count });
  });

  for (const m of machines) {
    for (const mode of ['user', 'system', 'idle', 'iowait']) {
      counter('node_resources_cpu_usage_seconds_total', { machine_id: m, mode }, mode === 'idle' ? 3 : 0.4, { resets: m === 'm2' && mode === 'user' ? 1 : 0 });
    }
    gauge('node_resources_cpu_logical_cores', { machine_id: m }, 4, 0);
    gauge('node_resources_memory_available_bytes', { machine_id: m }, 8e9, 2e9);
    gauge('node_resources_memory_total_bytes', { machine_id: m }, 16e9, 0);
    gauge('node_info', { machine_id: m, hostname: `host-${m}`, kernel_version: '6.1.0' }, 1, 0);
  }
  // Plain test gauges: negative values, NaNs, a series that exists only in the middle.
  gauge('rs_gauge', { job: 'a', instance: 'x' }, 0, 100);
  gauge('rs_gauge', { job: 'a', instance: 'y' }, 50, 20, { nanEvery: 17 });
  gauge('rs_gauge', { job: 'b', instance: 'x' }, -30, 40, { from: 0.2, to: 0.6 });
  gauge('rs_gauge', { job: 'b', instance: 'z' }, 1e-3, 1e-3, { from: 0.5 });
  counter('rs_counter_total', { job: 'a' }, 5, { resets: 3 });
  counter('rs_counter_total', { job: 'b' }, 0.5, { from: 0.4, to: 0.8, start: 0 });
  return out;
}

/** The OpenMetrics text promtool backfills from: one family per metric name, samples in time order. */
export function toOpenMetrics(series: GenSeries[]): string {
  const byName = new Map<string, GenSeries[]>();
  for (const s of series) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const lines: string[] = [];
  for (const [name, list] of byName) {
    lines.push(`# TYPE ${name} unknown`);
    for (const s of list) {
      const l = Object.entries(s.labels).filter(([, v]) => v !== '').map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',');
      for (const [t, v] of s.samples) lines.push(`${name}{${l}} ${Number.isNaN(v) ? 'NaN' : String(v)} ${t / 1000}`);
    }
  }
  lines.push('# EOF');
  return lines.join('\n') + '\n';
}
