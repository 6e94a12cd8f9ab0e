// A tiny Prometheus exporter on 127.0.0.1 for tests that let a real Prometheus scrape: a counter
// per path (one of them resets), a gauge and a histogram, all moving deterministically with the
// number of scrapes served, so every scrape yields new values.
import { createServer, type Server } from 'node:http';

export interface ScrapeExporter {
  /** host:port, as Prometheus' `instance` label will show it. */
  target: string;
  scrapes(): number;
  /** Stops serving (the target "disappears"); idempotent. */
  close(): Promise<void>;
}

export async function startScrapeExporter(name: string): Promise<ScrapeExporter> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') { res.writeHead(404).end(); return; }
    n++;
    const reset = n > 12 ? n - 12 : n + 40; // the /b counter restarts at the 13th scrape
    const temp = 20 + ((n * 7) % 11) / 4;
    const buckets: [string, number][] = [['0.05', n], ['0.1', 2 * n], ['0.5', 3 * n + (n % 3)], ['+Inf', 4 * n]];
    const body = [
      '# HELP rw_requests_total Requests served.',
      '# TYPE rw_requests_total counter',
      `rw_requests_total{path="/a",exporter="${name}"} ${n * 3}`,
      `rw_requests_total{path="/b",exporter="${name}"} ${reset * 5}`,
      '# HELP rw_temperature A gauge.',
      '# TYPE rw_temperature gauge',
      `rw_temperature{exporter="${name}"} ${temp}`,
      '# HELP rw_latency_seconds Request latency.',
      '# TYPE rw_latency_seconds histogram',
      ...buckets.map(([le, c]) => `rw_latency_seconds_bucket{exporter="${name}",le="${le}"} ${c}`),
      `rw_latency_seconds_sum{exporter="${name}"} ${n * 0.37}`,
      `rw_latency_seconds_count{exporter="${name}"} ${4 * n}`,
      '',
    ].join('\n');
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  let closed: Promise<void> | undefined;
  return {
    target: `127.0.0.1:${port}`,
    scrapes: () => n,
    close: () => (closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    })),
  };
}

/** Reads one sample value from Prometheus' own /metrics (e.g. its remote-write progress). */
export async function selfMetric(promUrl: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${promUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
