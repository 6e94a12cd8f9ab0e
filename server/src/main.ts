// Starts the Rootsight server: one chDB store, the ingest, query and UI routes on one port.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { registerConfigApi } from './api/config-api.ts';
import { registerSelfMetrics } from './api/self-metrics.ts';
import { registerServiceMapApi } from './api/service-map.ts';
import { registerStorageApi } from './api/storage-usage.ts';
import { registerUi } from './api/ui.ts';
import { AccessControl } from './auth/access-control.ts';
import { bootstrapConfig } from './auth/bootstrap.ts';
import { ingestProjectResolver } from './auth/ingest-project.ts';
import type { AnonymousRole } from './auth/roles.ts';
import { registerErrorHandler } from './http/errors.ts';
import { formatUrl, parseListenAddress } from '@rootsight/common';
import { defaultRemoteWriteLimits, protobufContentType, registerRemoteWrite, type RemoteWriteLimits } from './ingest/remote-write.ts';
import { registerTelemetryIngest, type TelemetryIngest, type TelemetryIngestOptions } from './ingest/telemetry-ingest.ts';
import { registerPrometheusApi } from './metrics/prometheus-api.ts';
import { StoredSampleCache } from './metrics/sample-cache.ts';
import { replayHead } from './metrics/head-replay.ts';
import { SampleHead } from './metrics/sample-head.ts';
import type { ClickHouseDriver } from './storage/clickhouse/driver.ts';
import { ClickHouseSeriesReader } from './metrics/series-reader.ts';
import { PrometheusUpstream, type UpstreamOptions } from './upstream/prometheus-upstream.ts';
import { parseUpstreamUrl } from './upstream/upstream-url.ts';
import { InsertJournal } from './storage/clickhouse/insert-journal.ts';
import { MetricsStore, type StoredSamplesObserver } from './storage/clickhouse/metrics-store.ts';
import { openStorage } from './storage/clickhouse/open.ts';
import { ClickHouseSession } from './storage/clickhouse/session.ts';
import { StorageManager, defaultRetentionPolicy, type RetentionPolicy } from './storage/clickhouse/retention.ts';
import { ConfigDb } from './storage/configdb/config-db.ts';

export interface StartServerOptions {
  /** host:port to listen on; port 0 picks a free port. Default 127.0.0.1:8080. */
  listen?: string;
  /** Where chDB keeps its files (under <dataDir>/clickhouse). Default ./data. */
  dataDir?: string;
  /** Built UI (index.html and assets). Default <repo>/ui/dist. */
  uiDir?: string;
  log?: (msg: string) => void;
  /** Remote-write body caps; defaults 32 MiB compressed, 128 MiB decompressed. */
  remoteWriteLimits?: Partial<RemoteWriteLimits>;
  /** PostgreSQL URL for the config database; default PGlite under <dataDir>/configdb. */
  pgUrl?: string;
  /** Password of the "admin" user created at first start; generated and logged once when unset. */
  adminPassword?: string;
  /** Role of requests without credentials; when unset, the server setting auth.anonymous_role, else viewer. */
  anonymousRole?: AnonymousRole;
  /** OTLP gRPC receiver address (port 0 = any); unset = no gRPC listener. The CLI default is 127.0.0.1:4317. */
  otlpGrpcListen?: string;
  /** A ClickHouse server (http://user:pass@host:8123/db) instead of the embedded chDB. */
  clickhouseUrl?: string;
  /** ClickHouse cluster name: Replicated* + Distributed tables, DDL ON CLUSTER. */
  clickhouseCluster?: string;
  /**
   * Retention and byte budgets per signal, enforced at start and hourly; fields left out take the
   * defaults (metrics 30d, traces 7d, logs 14d, profiles 3d, no budgets). Unset = not enforced
   * (embedders and tests with fixed old timestamps); the CLI always sets it from its flags.
   */
  retention?: { retentionMs?: Partial<RetentionPolicy['retentionMs']>; budgetBytes?: Partial<RetentionPolicy['budgetBytes']> };
  /** OTLP / pprof ingest limits, queue bytes and test hooks. */
  telemetry?: Partial<TelemetryIngestOptions>;
  /**
   * An external Prometheus or VictoriaMetrics (http://user:pass@host:9090): the Prometheus API at
   * /prometheus/api/v1/* is answered by it, and remote write is forwarded to its /api/v1/write.
   */
  prometheusUrl?: string;
  /** The upstream's remote-write receiver when it is not <prometheusUrl>/api/v1/write. */
  prometheusRemoteWriteUrl?: string;
  /** Upstream timeouts, queue bound and retries (tests shorten them). */
  upstream?: Omit<UpstreamOptions, 'endpoint' | 'log'>;
  /** Recent samples kept in memory for PromQL (chDB only); 0 = none, every read goes to storage. Default 4M. */
  metricsHeadSamples?: number;
  /** Whether the head starts with the newest stored samples (head-replay.ts); default true. Benches compare without. */
  metricsHeadReplay?: boolean;
  /**
   * Samples read from storage kept decoded in memory, per series and 2 h window (written through),
   * so repeated PromQL reads of data the head does not cover skip chDB (chDB only); 0 = none.
   * Default 4M (~70 MB at most).
   */
  metricsCacheSamples?: number;
}

export interface RunningServer {
  /** The real base URL, e.g. http://127.0.0.1:41234 when port 0 was asked for. */
  url: string;
  /** host:port of the OTLP gRPC receiver when it is on. */
  otlpGrpcAddress?: string;
  /** Retention/budget enforcement and usage (tests call enforce() directly). */
  storage?: StorageManager;
  /** Traces, logs and profiles reads and ingest queue stats. */
  telemetry?: TelemetryIngest;
  /** The external Prometheus / VictoriaMetrics when --prometheus-url is set. */
  upstream?: PrometheusUpstream;
  /** Decoded storage reads kept for PromQL (chDB, unless metricsCacheSamples is 0). */
  metricsCache?: StoredSampleCache;
  /** The newest samples in memory (chDB, unless metricsHeadSamples is 0). */
  metricsHead?: SampleHead;
  close(): Promise<void>;
}

export const defaultListen = '127.0.0.1:8080';
export const defaultDataDir = './data';
export const defaultUiDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../ui/dist');

/** The PromQL head, filled with the newest stored samples (head-replay.ts); says what it took and how long. */
async function startHead(db: ClickHouseDriver, maxSamples: number | undefined, replay: boolean, log: (msg: string) => void): Promise<SampleHead> {
  const empty = async () => new SampleHead(await new MetricsStore(db).newestSampleMs(), { maxSamples });
  if (!replay) return empty();
  const t0 = performance.now();
  try {
    const r = await replayHead(db, { maxSamples });
    if (r.samples > 0) log(`metrics head: replayed ${r.samples} samples of ${r.series} series (the last ${r.spanMs / 60_000} min stored) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return r.head;
  } catch (err) {
    // Only speed is lost: storage answers what the head does not cover.
    log(`metrics head: could not replay stored samples (${err instanceof Error ? err.message : String(err)}); it covers what is written from now on`);
    return empty();
  }
}

/** Starts the server. Only one may run per process at a time: chDB serves one data directory per process. */
export async function startServer(opts: StartServerOptions = {}): Promise<RunningServer> {
  const log = opts.log ?? ((msg: string) => console.log(msg));
  const { host, port } = parseListenAddress(opts.listen ?? defaultListen);
  const dataDir = resolve(opts.dataDir ?? defaultDataDir);
  const limits: RemoteWriteLimits = { ...defaultRemoteWriteLimits, ...opts.remoteWriteLimits };
  // Checked before anything is opened: a bad URL is a configuration error, not a runtime one.
  const upstreamEndpoint = opts.prometheusUrl ? parseUpstreamUrl(opts.prometheusUrl, opts.prometheusRemoteWriteUrl) : undefined;

  const db = await openStorage({ dataDir, clickhouseUrl: opts.clickhouseUrl, clickhouseCluster: opts.clickhouseCluster, log });
  const storage = new StorageManager(db, {
    retentionMs: { ...defaultRetentionPolicy.retentionMs, ...opts.retention?.retentionMs },
    budgetBytes: { ...defaultRetentionPolicy.budgetBytes, ...opts.retention?.budgetBytes },
  }, log);
  let telemetry: TelemetryIngest | undefined;
  const upstream = upstreamEndpoint ? new PrometheusUpstream({ ...opts.upstream, endpoint: upstreamEndpoint, log }) : undefined;
  // Recent samples in memory answer most PromQL reads without a storage query. Only with chDB: this
  // process is then the data directory's only writer, so the head misses nothing that is stored.
  // With chDB, remote write is acknowledged once journaled (a file in the data dir) and inserted behind.
  const journal = db instanceof ClickHouseSession ? await InsertJournal.open(join(db.path, 'rootsight-metrics-journal'), db, log) : undefined;
  const head = db.kind === 'chdb' && opts.metricsHeadSamples !== 0 ? await startHead(db, opts.metricsHeadSamples, opts.metricsHeadReplay ?? true, log) : undefined;
  // Decoded storage reads, exact for the same reason (the only writer): every batch stored is
  // merged into the cached windows of its series (a failed one drops them) before any reader can
  // see it stored.
  const cache = db.kind === 'chdb' && opts.metricsCacheSamples !== 0 ? new StoredSampleCache({ maxSamples: opts.metricsCacheSamples }) : undefined;
  const observer: StoredSamplesObserver | undefined = cache
    ? {
      add(batch) { cache.storedBatch(batch); head?.add(batch); },
      writeFailed(batch) { cache.writeFailed(batch); head?.writeFailed(batch); },
    }
    : head;
  const store = new MetricsStore(db, { observer, journal, log });
  storage.awaitWritesFrom(() => store.settled());
  storage.onPartitionDropped((signal, dayStartMs) => {
    if (signal !== 'metrics') return;
    head?.forgetThrough(dayStartMs + 86_400_000 - 1);
    cache?.clear();
  });
  // PromQL reads samples through the reader (head, cache, binary rows, cached label sets); the rest through the store.
  const seriesReader = new ClickHouseSeriesReader(db, {
    head, cache, settled: () => store.settled(), seriesGeneration: db.kind === 'chdb' ? () => store.seriesGeneration() : undefined,
  });
  const metricsSource = {
    selectSeries: seriesReader.selectSeries.bind(seriesReader),
    selectSeriesMany: seriesReader.selectSeriesMany.bind(seriesReader),
    selectLabelSets: store.selectLabelSets.bind(store),
    metadata: store.metadata.bind(store),
  };
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  let configDb: ConfigDb | undefined;
  try {
    configDb = await ConfigDb.open({ dataDir, pgUrl: opts.pgUrl, log });
    await bootstrapConfig(configDb, { adminPassword: opts.adminPassword, log });
    // Before any route, so that every route is seen and checked.
    const access = new AccessControl(configDb, { anonymousRoleFlag: opts.anonymousRole, log });
    access.register(app);
    registerConfigApi(app, configDb, access);
    app.addContentTypeParser(protobufContentType, { parseAs: 'buffer', bodyLimit: limits.maxCompressedBytes }, (_req, body, done) => done(null, body));
    // Prometheus clients (Grafana) POST queries as HTML forms.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      // A repeated key (the Prometheus API's match[]) becomes an array of its values.
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of new URLSearchParams(body as string)) {
        const prev = out[k];
        out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      done(null, out);
    });
    registerErrorHandler(app, log);
    app.get('/health', async () => ({ status: 'ok' }));
    registerRemoteWrite(app, { store, limits, log });
    if (upstream) upstream.register(app);
    else registerPrometheusApi(app, metricsSource);
    registerServiceMapApi(app, metricsSource);
    // HTTP ingest keys are checked by the access hook; gRPC has no such hook, so it resolves its own.
    telemetry = registerTelemetryIngest(app, db, { resolveProject: ingestProjectResolver(configDb), grpcListen: opts.otlpGrpcListen, ...opts.telemetry, httpKeysCheckedUpstream: true }, log);
    const ingestStats = telemetry.stats;
    const metricsMemory = () => ({ head: head?.stats() ?? null, cache: cache?.stats() ?? null });
    registerStorageApi(app, storage, db.kind, () => ingestStats(), metricsMemory);
    registerSelfMetrics(app, { metricsMemory, metricsInsertBacklogBytes: () => store.insertBacklogBytes(), ingestQueues: () => ingestStats() });
    await registerUi(app, resolve(opts.uiDir ?? defaultUiDir));
    await app.listen({ host, port });
    await telemetry.listenGrpc();
    if (opts.retention) storage.start();
  } catch (e) {
    await storage.stop();
    await telemetry?.close().catch(() => undefined);
    await app.close().catch(() => undefined);
    await upstream?.close();
    await store.close();
    await db.close();
    await configDb?.close().catch(() => undefined);
    throw e;
  }
  const addr = app.server.address();
  const url = formatUrl(host, typeof addr === 'object' && addr ? addr.port : port);
  log(`rootsight server listening on ${url} (data in ${dataDir})`);
  if (upstreamEndpoint) log(`PromQL answered by ${upstreamEndpoint.baseUrl}; remote write forwarded to ${upstreamEndpoint.remoteWriteUrl.replace(/\/\/[^@/]*@/, '//')}`);

  let closing: Promise<void> | undefined;
  return {
    url,
    otlpGrpcAddress: telemetry!.grpcAddress,
    storage,
    telemetry,
    upstream,
    metricsCache: cache,
    metricsHead: head,
    close: () => (closing ??= (async () => {
      await storage.stop();
      await telemetry!.close();
      await app.close();
      await upstream?.close();
      await store.close();
      await db.close();
      await configDb!.close();
    })()),
  };
}
