// Shared helpers for server tests: a real server on port 0 over a fresh temp data dir, and a
// remote-write client built on the shared codec.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWriteRequest, snappyCompress, type TimeSeries } from '@rootsight/common';
import { startServer, type RunningServer, type StartServerOptions } from '../src/main.ts';

export interface TestServer extends RunningServer { dataDir: string; logs: string[] }

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'rootsight-server-test-'));
}

export async function startTestServer(opts: StartServerOptions & { dataDir?: string } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDataDir();
  const logs: string[] = [];
  const s = await startServer({ listen: '127.0.0.1:0', uiDir: join(dataDir, 'no-ui'), log: (m) => logs.push(m), ...opts, dataDir });
  return { ...s, dataDir, logs };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A series from a metric name, labels and [timestampMs, value] pairs. */
export function series(name: string, labels: Record<string, string>, samples: [number, number][]): TimeSeries {
  return {
    labels: [{ name: '__name__', value: name }, ...Object.entries(labels).map(([n, v]) => ({ name: n, value: v }))],
    samples: samples.map(([t, v]) => ({ timestampMs: t, value: v })),
  };
}

export async function push(url: string, timeseries: TimeSeries[], headers: Record<string, string> = {}): Promise<Response> {
  const body = snappyCompress(encodeWriteRequest({ timeseries, metadata: [] }));
  return postRaw(url, body, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', ...headers });
}

export async function postRaw(url: string, body: Uint8Array | string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${url}/v1/metrics`, { method: 'POST', body: typeof body === 'string' ? body : Buffer.from(body), headers });
}

export interface PromResponse {
  status: 'success' | 'error';
  data?: { resultType: string; result: unknown };
  errorType?: string;
  error?: string;
}

export async function query(url: string, q: string, timeMs: number): Promise<{ code: number; body: PromResponse }> {
  const r = await fetch(`${url}/prometheus/api/v1/query?${new URLSearchParams({ query: q, time: String(timeMs / 1000) })}`);
  return { code: r.status, body: (await r.json()) as PromResponse };
}

/** The instant vector of a successful query, as { labelsKey → value }. */
export async function vector(url: string, q: string, timeMs: number): Promise<Map<string, number>> {
  const { code, body } = await query(url, q, timeMs);
  if (code !== 200 || body.status !== 'success' || body.data?.resultType !== 'vector') {
    throw new Error(`query ${q} failed: ${code} ${JSON.stringify(body)}`);
  }
  const out = new Map<string, number>();
  for (const s of body.data.result as { metric: Record<string, string>; value: [number, string] }[]) {
    out.set(JSON.stringify(Object.entries(s.metric).sort()), Number(s.value[1]));
  }
  return out;
}

export function key(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort());
}

/** Floats computed by different but equivalent formulas differ in the last bits. */
export function assertClose(actual: number | undefined, expected: number, what: string): void {
  if (actual === undefined || Math.abs(actual - expected) > 1e-9 * Math.max(1, Math.abs(expected))) {
    throw new Error(`${what}: expected ${expected}, got ${actual}`);
  }
}
