// A real Prometheus 2.42 on 127.0.0.1 over a temp storage dir, loaded by backfilling an
// OpenMetrics file with promtool before start. Shared by the differential test and the bench.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const prometheusBinary = '/usr/bin/prometheus';
export const promtoolBinary = '/usr/bin/promtool';

export function prometheusAvailable(): boolean {
  return existsSync(prometheusBinary) && existsSync(promtoolBinary);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningPrometheus { url: string; stop(): Promise<void>; /** The last 4 KB it wrote to stderr. */ stderr(): string }

export async function startPrometheus(openMetrics: string): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'rootsight-prom-'));
  try {
    writeFileSync(join(dir, 'data.om'), openMetrics);
    const bf = spawnSync(promtoolBinary, ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'data.om'), join(dir, 'data')], { encoding: 'utf8' });
    if (bf.status !== 0) throw new Error(`promtool backfill failed: ${bf.stderr || bf.stdout}`);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return startPrometheusIn(dir, 'global:\n  scrape_interval: 1h\nscrape_configs: []\n', []);
}

/**
 * A Prometheus over an empty temp storage dir with the given prometheus.yml (scrape and
 * remote-write sections) and extra flags (e.g. --web.enable-remote-write-receiver).
 */
export async function startPrometheusWithConfig(configYaml: string, extraFlags: readonly string[] = []): Promise<RunningPrometheus> {
  return startPrometheusIn(mkdtempSync(join(tmpdir(), 'rootsight-prom-')), configYaml, extraFlags);
}

async function startPrometheusIn(dir: string, configYaml: string, extraFlags: readonly string[]): Promise<RunningPrometheus> {
  const dataDir = join(dir, 'data');
  writeFileSync(join(dir, 'prometheus.yml'), configYaml);
  let port: number;
  try {
    port = await freePort();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const proc: ChildProcess = spawn(prometheusBinary, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`, '--storage.tsdb.retention.time=30d', '--log.level=warn', ...extraFlags,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) { await stop(); throw new Error(`prometheus exited with ${proc.exitCode}: ${stderr}`); }
    try {
      const r = await fetch(`${url}/-/ready`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) { await stop(); throw new Error(`prometheus not ready within 30 s: ${stderr}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop, stderr: () => stderr };
}
