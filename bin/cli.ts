// `rootsight up | agent | server`: one command for the whole system on one host,
// or each half on its own.
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { TelemetryFlagError, telemetryServerFlags, telemetrySettingsFromFlags } from '../server/src/ingest/telemetry-flags.ts';
import { UpstreamConfigError } from '../server/src/upstream/upstream-url.ts';
import { FlagError, formatFlagHelp, parseDurationMs, parseFlags, type FlagSpec } from './flags.ts';
import { HUGE_PAGES_TUNABLE, mallocHugePages } from './malloc-huge-pages.ts';

const agentFlags: FlagSpec[] = [
  { name: 'listen', help: 'address of the agent\'s /metrics and /capabilities endpoint', default: '127.0.0.1:10300' },
  { name: 'collector-endpoint', help: 'Rootsight server base URL to push to (metrics go to <url>/v1/metrics); empty = pull only' },
  { name: 'api-key', help: 'project API key sent as X-API-Key' },
  { name: 'cgroupfs-root', help: 'where the host cgroup filesystem is mounted', default: '/sys/fs/cgroup' },
  { name: 'scrape-interval', help: 'how often metrics are pushed to the collector', default: '15s' },
  { name: 'ephemeral-port-range', help: 'destination ports treated as client ports and not tracked', default: '32768-60999' },
  { name: 'min-container-age', help: 'announce a container (container_info) only once it is this old; 0 = at once', default: '30s' },
  { name: 'disable-l7-tracing', help: 'do not trace read/write syscalls: no request metrics or spans, TCP metrics only', boolean: true },
  { name: 'disable-tls-tracing', help: 'do not attach uprobes to OpenSSL (libssl, node), GnuTLS, Go crypto/tls and rustls: HTTPS requests are not seen', boolean: true },
  { name: 'disable-nat-resolution', help: 'do not ask conntrack where NAT sent outbound connections: actual_destination always equals destination', boolean: true },
  { name: 'l7-object', help: 'the L7 tracing BPF object to load instead of agent/bpf/build/l7.bpf.o (e.g. an older build, to compare the two under one load: bench/agent-bpf-ab.ts)' },
];

const serverFlags: FlagSpec[] = [
  { name: 'listen', help: 'address of the UI, API and ingest endpoints', default: '127.0.0.1:8080' },
  { name: 'data-dir', help: 'where the embedded storage keeps its files', default: './data' },
  { name: 'pg-url', help: 'PostgreSQL URL (postgres://user:pass@host/db) for the config database; default: embedded PGlite in <data-dir>/configdb' },
  { name: 'admin-password', help: 'password of the "admin" user created at first start; default: generated and printed once' },
  ...telemetryServerFlags,
  { name: 'auth-anonymous-role', help: 'what requests without login may do: none, viewer, editor or admin; when not given: the auth.anonymous_role server setting, default viewer (read-only dashboards and Prometheus API without login)' },
  { name: 'prometheus-url', help: 'an external Prometheus or VictoriaMetrics (http://user:pass@host:9090): the Prometheus API at /prometheus/api/v1/ is answered by it and received remote write is also forwarded to it (Prometheus needs --web.enable-remote-write-receiver); default: the built-in PromQL engine only' },
  { name: 'prometheus-remote-write-url', help: 'where forwarded remote write goes when it is not <prometheus-url>/api/v1/write' },
  { name: 'metrics-head-samples', help: 'newest samples kept in memory (about 17 bytes each) that answer PromQL reads of recent data without a storage query, filled at start with the last 2 h stored (less if that is over half of it); beyond it the oldest quarter is dropped; 0 = off, every read goes to storage (embedded chDB only)', default: '4000000' },
  { name: 'metrics-cache-samples', help: 'samples read from storage kept decoded in memory (about 16 bytes each, kept up to date as samples are stored), so repeated PromQL reads of data the head does not cover skip storage; 0 = off (embedded chDB only)', default: '4000000' },
];

const upFlags: FlagSpec[] = [
  ...serverFlags,
  { name: 'agent-listen', help: 'address of the local agent\'s /metrics endpoint', default: '127.0.0.1:10300' },
  { name: 'scrape-interval', help: 'how often the local agent pushes metrics', default: '15s' },
];

const usage = `rootsight — zero-instrumentation observability for Linux hosts

Usage:
  rootsight up      [flags]   run the server and an agent for this host (one-machine setup)
  rootsight server  [flags]   run the server: ingest, storage, query API and UI
  rootsight agent   [flags]   run the node agent (needs root for eBPF)
  rootsight <command> --help  flags of a command; every flag can also be set by its environment variable
`;

const log = (component: string) => (msg: string) => console.error(`${new Date().toISOString()} ${component}: ${msg}`);

function commandHelp(cmd: string, specs: FlagSpec[]): string {
  return `Usage: rootsight ${cmd} [flags]\n\nFlags:\n${formatFlagHelp(specs)}\n`;
}

// The agent and the server are imported only when run: the server links ClickHouse (chDB),
// which the agent must not carry in its memory.
async function runAgent(f: Record<string, string | undefined>): Promise<() => Promise<void>> {
  const { Agent } = await import('../agent/src/agent.ts');
  const agent = await Agent.start({
    listen: f['listen']!,
    collectorEndpoint: f['collector-endpoint'] || undefined,
    apiKey: f['api-key'] || undefined,
    cgroupfsRoot: f['cgroupfs-root']!,
    scrapeIntervalMs: parseDurationMs(f['scrape-interval']!, 'scrape-interval'),
    ephemeralPortRange: f['ephemeral-port-range']!,
    minContainerAgeMs: f['min-container-age'] === '0' ? 0 : parseDurationMs(f['min-container-age']!, 'min-container-age'),
    disableL7Tracing: f['disable-l7-tracing'] === 'true',
    disableTlsTracing: f['disable-tls-tracing'] === 'true',
    disableNatResolution: f['disable-nat-resolution'] === 'true',
    l7ObjectPath: l7Object(f['l7-object']),
    log: log('agent'),
  });
  log('agent')(`serving ${agent.url}/metrics and ${agent.url}/capabilities${f['collector-endpoint'] ? `; pushing to ${f['collector-endpoint']}` : ''}`);
  return () => agent.close();
}

/** An --l7-object that cannot be read is a mistake on the command line, not a kernel limitation
 * to carry on without (which is what the agent does when its own object fails to load). */
function l7Object(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new FlagError(`--l7-object: cannot read "${path}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return resolve(path);
}

async function runServer(f: Record<string, string | undefined>): Promise<{ url: string; close: () => Promise<void> }> {
  const { startServer } = await import('../server/src/main.ts');
  if (!mallocHugePages()) log('server')(`malloc without huge pages: run bin/rootsight.js itself (its #! line sets GLIBC_TUNABLES=${HUGE_PAGES_TUNABLE}), or set that, for fewer page faults while ingesting`);
  const anonymousRole = f['auth-anonymous-role'];
  if (anonymousRole !== undefined && !['none', 'viewer', 'editor', 'admin'].includes(anonymousRole)) {
    throw new FlagError(`--auth-anonymous-role: invalid value "${anonymousRole}", expected none, viewer, editor or admin`);
  }
  const server = await startServer({
    listen: f['listen']!, dataDir: resolve(f['data-dir']!), log: log('server'),
    pgUrl: f['pg-url'] || undefined, adminPassword: f['admin-password'] || undefined,
    anonymousRole: anonymousRole as 'none' | 'viewer' | 'editor' | 'admin' | undefined,
    prometheusUrl: f['prometheus-url'] || undefined, prometheusRemoteWriteUrl: f['prometheus-remote-write-url'] || undefined,
    metricsHeadSamples: parseSampleCount(f['metrics-head-samples']!, 'metrics-head-samples'),
    metricsCacheSamples: parseSampleCount(f['metrics-cache-samples']!, 'metrics-cache-samples'),
    ...telemetryOptions(f),
  });
  return server;
}

function parseSampleCount(v: string, flag: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new FlagError(`--${flag}: invalid value "${v}", expected a whole number of samples (0 = off)`);
  return Number(v);
}

/** The ingest and storage flags as startServer options (the queue size lives under telemetry). */
function telemetryOptions(f: Record<string, string | undefined>) {
  const { ingestQueueBytes, ...rest } = telemetrySettingsFromFlags(f);
  return { ...rest, telemetry: { queueBytesPerSignal: ingestQueueBytes } };
}

/**
 * The first SIGINT or SIGTERM. Listened for before anything starts: a signal that came while the
 * agent or server was still starting (after it had printed that it serves) would otherwise kill
 * the process at once, with nothing closed. A second signal kills the process as usual.
 */
function firstSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

async function shutDownOn(signal: Promise<string>, closers: Array<() => Promise<void>>): Promise<number> {
  console.error(`\n${await signal}: shutting down`);
  for (const c of closers) await c().catch((e: Error) => console.error(e.message));
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const specs = cmd === 'agent' ? agentFlags : cmd === 'server' ? serverFlags : cmd === 'up' ? upFlags : undefined;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  if (!specs) {
    process.stderr.write(`unknown command "${cmd}"\n\n${usage}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(cmd, specs));
    return 0;
  }
  let flags: Record<string, string | undefined>;
  try {
    flags = parseFlags(rest, specs);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    process.stderr.write(`rootsight ${cmd}: ${e.message}\n\n${commandHelp(cmd, specs)}`);
    return 2;
  }
  const signal = firstSignal();
  try {
    if (cmd === 'agent') return await shutDownOn(signal, [await runAgent(flags)]);
    if (cmd === 'server') {
      const server = await runServer(flags);
      log('server')(`listening on ${server.url}`);
      return await shutDownOn(signal, [server.close]);
    }
    const server = await runServer(flags);
    // The local agent takes its defaults (and env overrides such as CGROUPFS_ROOT) from the
    // agent's own flags; LISTEN belongs to the server here, so the agent's listen comes from --agent-listen.
    const agentDefaults = parseFlags([], agentFlags.filter((s) => s.name !== 'listen'));
    const closeAgent = await runAgent({
      ...agentDefaults, listen: flags['agent-listen'], 'collector-endpoint': server.url, 'scrape-interval': flags['scrape-interval'],
    });
    console.log(`\nRootsight is running. Open the UI: ${server.url}\n`);
    return await shutDownOn(signal, [closeAgent, server.close]);
  } catch (e) {
    if (e instanceof FlagError || e instanceof TelemetryFlagError || e instanceof UpstreamConfigError || (e instanceof Error && /invalid|EADDRINUSE|EACCES/.test(e.message))) {
      process.stderr.write(`rootsight ${cmd}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
