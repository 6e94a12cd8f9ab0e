// The telemetry side of ingest: OTLP traces and logs over HTTP (/v1/traces, /v1/logs: protobuf or
// JSON, any supported Content-Encoding) and gRPC (TraceService/Export, LogsService/Export), and
// pprof uploads (/v1/profiles). Decoding is shared; every signal has its own group-commit
// batcher, and a request is acknowledged only once its rows are in ClickHouse.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClickHouseDriver } from '../storage/clickhouse/driver.ts';
import { RowBinaryWriter } from '../storage/clickhouse/row-binary.ts';
import { TelemetryStore, encodeLogs, encodeSpans, type ProfileSampleRow, type ProfileStackRow } from '../storage/clickhouse/telemetry-store.ts';
import { BackpressureError, GroupCommitBatcher, type BatcherStats } from './batcher.ts';
import { IngestRequestError, decodeBody, supportedEncodings } from './body-encoding.ts';
import { decodeLogsJson, decodeTracesJson } from './otlp-decode.ts';
import { encodeLogsProto } from './otlp-log-rows.ts';
import { encodeTracesProto } from './otlp-span-rows.ts';
import { OtlpInvalidError, defaultOtlpLimits, type OtlpLimits } from './otlp-values.ts';
import { OtlpGrpcServer } from './otlp-grpc.ts';
import { decodePprof, profileRows } from './pprof.ts';
import { defaultProjectResolver, projectNotFoundMessage, type ResolveProject } from './projects.ts';
import { GrpcCode, encodeRpcStatus, httpToGrpcCode } from './rpc-status.ts';

export type TelemetrySignal = 'traces' | 'logs' | 'profiles';

export interface TelemetryIngestOptions {
  /** Largest request body as sent (413 above). Default 32 MiB. */
  maxCompressedBytes: number;
  /** Largest body after Content-Encoding is undone (413 above). Default 64 MiB. */
  maxDecompressedBytes: number;
  /** Bytes (decompressed) waiting for or in an insert, per signal; beyond it requests get 429. Default 64 MiB. */
  queueBytesPerSignal: number;
  /** Rows per ClickHouse insert. */
  maxBatchRows: number;
  otlpLimits: OtlpLimits;
  /** API key → project; the config DB replaces the single-project default. */
  resolveProject: ResolveProject;
  /** The server's access hook already resolved X-API-Key for HTTP; only gRPC calls resolveProject then. */
  httpKeysCheckedUpstream?: boolean;
  /** host:port for OTLP gRPC; undefined = no gRPC listener. */
  grpcListen?: string;
  /** Test hook: runs before every insert, e.g. to make storage slow. */
  beforeInsert?: (signal: TelemetrySignal) => Promise<void>;
  now: () => number;
}

export const defaultTelemetryIngestOptions: TelemetryIngestOptions = {
  maxCompressedBytes: 32 * 1024 * 1024,
  maxDecompressedBytes: 64 * 1024 * 1024,
  queueBytesPerSignal: 64 * 1024 * 1024,
  maxBatchRows: 100_000,
  otlpLimits: defaultOtlpLimits,
  resolveProject: defaultProjectResolver,
  now: Date.now,
};

export interface TelemetryIngest {
  store: TelemetryStore;
  /** The real gRPC address (port 0 resolved), when gRPC is on. */
  grpcAddress: string | undefined;
  stats(): BatcherStats[];
  /** Starts the gRPC listener (after the HTTP routes are registered). */
  listenGrpc(): Promise<string | undefined>;
  close(): Promise<void>;
}

const protobufType = 'application/x-protobuf';
const jsonType = 'application/json';

/** One request's rows, already in the table's RowBinary layout (encoded before queueing, see submit). */
interface EncodedRows { payload: Buffer; rows: number }

const concatPayloads = (items: EncodedRows[]) => (items.length === 1 ? items[0]!.payload : Buffer.concat(items.map((i) => i.payload)));

export function registerTelemetryIngest(app: FastifyInstance, db: ClickHouseDriver, partial: Partial<TelemetryIngestOptions>, log: (msg: string) => void): TelemetryIngest {
  const opts: TelemetryIngestOptions = { ...defaultTelemetryIngestOptions, ...partial };
  const store = new TelemetryStore(db);
  const hook = opts.beforeInsert ?? (async () => undefined);
  const nowNs = () => BigInt(opts.now()) * 1_000_000n;
  const batcherOpts = { maxBytes: opts.queueBytesPerSignal, maxBatchRows: opts.maxBatchRows };
  const encodedOpts = { maxBytes: opts.queueBytesPerSignal, maxBatchRows: opts.maxBatchRows, rowsOf: (e: EncodedRows) => e.rows };
  const spans = new GroupCommitBatcher<EncodedRows>({ ...encodedOpts, name: 'traces', write: async (items) => { await hook('traces'); await store.insertEncodedSpans(concatPayloads(items)); } });
  const logs = new GroupCommitBatcher<EncodedRows>({ ...encodedOpts, name: 'logs', write: async (items) => { await hook('logs'); await store.insertEncodedLogs(concatPayloads(items)); } });
  type ProfileBatch = { samples: ProfileSampleRow[]; stacks: ProfileStackRow[] };
  const profiles = new GroupCommitBatcher<ProfileBatch>({
    ...batcherOpts, name: 'profiles', maxBatchRows: 64,
    write: async (batches) => {
      await hook('profiles');
      await store.insertProfiles(batches.flatMap((b) => b.samples), batches.flatMap((b) => b.stacks));
    },
  });
  const storageFailures = new Set<string>();
  const noteStorageFailure = (signal: string, e: Error) => {
    // Once per distinct message, not per request.
    if (storageFailures.size < 100 && !storageFailures.has(e.message)) {
      storageFailures.add(e.message);
      log(`ingest ${signal}: storing failed, answering 503 (retry): ${e.message}`);
    }
  };

  /**
   * Turns a request into its table's RowBinary rows and queues them. Encoding here, not in the
   * insert, lets this request's CPU work overlap the insert that is running; the queue holds
   * compact bytes instead of objects. Protobuf is copied from the wire in one pass
   * (otlp-span-rows.ts, otlp-log-rows.ts); JSON goes through span/log objects.
   */
  const encodeOtlp = (signal: 'traces' | 'logs', body: Buffer, json: boolean): EncodedRows => {
    const w = new RowBinaryWriter(Math.max(1024, body.length * 2));
    let rows: number;
    if (signal === 'traces') {
      if (json) { const spanRows = decodeTracesJson(body, opts.otlpLimits); encodeSpans(spanRows, w); rows = spanRows.length; }
      else rows = encodeTracesProto(body, opts.otlpLimits, w);
    } else {
      if (json) { const logRows = decodeLogsJson(body, opts.otlpLimits, nowNs()); encodeLogs(logRows, w); rows = logRows.length; }
      else rows = encodeLogsProto(body, opts.otlpLimits, nowNs(), w);
    }
    return { payload: w.view(), rows };
  };

  const submit = (signal: 'traces' | 'logs', e: EncodedRows): Promise<void> => {
    const batcher = signal === 'traces' ? spans : logs;
    if (e.rows === 0) return batcher.submit([], 0);
    return batcher.submit([e], e.payload.length);
  };
  const batcherOf = (signal: TelemetrySignal) => (signal === 'traces' ? spans : signal === 'logs' ? logs : profiles);

  app.register(async (scope) => {
    // Own parsers in this scope: bodies stay raw bytes until the encoding is undone.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: opts.maxCompressedBytes }, (_req, body, done) => done(null, body));

    for (const signal of ['traces', 'logs'] as const) {
      const route = `/v1/${signal}`;
      scope.post(route, {
        bodyLimit: opts.maxCompressedBytes,
        // Everything that can be refused without reading the body is refused before it is read.
        onRequest: async (req, reply) => {
          const type = mediaType(req.headers['content-type']);
          if (type !== protobufType && type !== jsonType) {
            return answer(reply, 415, `POST ${route} expects Content-Type ${protobufType} or ${jsonType} (an OTLP Export${signal === 'traces' ? 'Trace' : 'Logs'}ServiceRequest), got ${type ? `"${type}"` : 'none'}`, type);
          }
          const enc = contentEncoding(req);
          if (!['', 'identity', 'gzip', 'x-gzip', 'deflate', 'zstd', 'snappy', 'x-snappy-framed'].includes(enc)) {
            return answer(reply, 415, `POST ${route}: unsupported Content-Encoding "${enc}"; use one of ${supportedEncodings.join(', ')}`, type);
          }
          if (!opts.httpKeysCheckedUpstream && !(await opts.resolveProject(apiKey(req)))) return answer(reply, 404, projectNotFoundMessage, type);
          const b = batcherOf(signal);
          if (b.full()) return backpressure(reply, new BackpressureError(1, `${signal} ingest is behind storage; retry later`), type);
        },
      }, async (req, reply) => {
        const type = mediaType(req.headers['content-type']);
        try {
          const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
          const body = await decodeBody(raw, contentEncoding(req), opts.maxDecompressedBytes);
          await submit(signal, encodeOtlp(signal, body, type === jsonType));
          return type === jsonType ? reply.code(200).type(jsonType).send('{}') : reply.code(200).type(protobufType).send(Buffer.alloc(0));
        } catch (e) {
          return failure(reply, signal, e, type);
        }
      });
    }

    scope.post('/v1/profiles', {
      bodyLimit: opts.maxCompressedBytes,
      onRequest: async (req, reply) => {
        const enc = contentEncoding(req);
        if (!['', 'identity', 'gzip', 'x-gzip', 'deflate', 'zstd', 'snappy'].includes(enc)) {
          return answer(reply, 415, `POST /v1/profiles: unsupported Content-Encoding "${enc}"; use one of ${supportedEncodings.join(', ')}`, '');
        }
        const q = req.query as Record<string, string | string[]>;
        if (typeof q['service.name'] !== 'string' || q['service.name'] === '') {
          return answer(reply, 400, 'POST /v1/profiles needs the query parameter service.name (e.g. /v1/profiles?service.name=checkout&container.id=/docker/abc)', '');
        }
        if (!opts.httpKeysCheckedUpstream && !(await opts.resolveProject(apiKey(req)))) return answer(reply, 404, projectNotFoundMessage, '');
        if (profiles.full()) return backpressure(reply, new BackpressureError(1, 'profiles ingest is behind storage; retry later'), '');
      },
    }, async (req, reply) => {
      try {
        const q = req.query as Record<string, string | string[]>;
        const labels: Record<string, string> = {};
        for (const [k, v] of Object.entries(q)) if (k !== 'service.name') labels[k] = Array.isArray(v) ? v.join(',') : v;
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        if (raw.length === 0) throw new IngestRequestError(400, 'empty body: expected a pprof profile (protobuf, gzip allowed)');
        let body = await decodeBody(raw, contentEncoding(req), opts.maxDecompressedBytes);
        // pprof files are conventionally gzipped without saying so in a header.
        if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) body = await decodeBody(body, 'gzip', opts.maxDecompressedBytes);
        const parsed = decodePprof(body);
        const rows = profileRows(parsed, q['service.name'] as string, labels, nowNs());
        await profiles.submit([rows], body.length + rows.samples.length * 64);
        return reply.code(200).type('text/plain; charset=utf-8').send('');
      } catch (e) {
        return failure(reply, 'profiles', e, '');
      }
    });
  });

  const failure = (reply: FastifyReply, signal: string, e: unknown, type: string) => {
    if (e instanceof IngestRequestError) return answer(reply, e.status, e.message, type);
    if (e instanceof OtlpInvalidError) return answer(reply, 400, e.message, type);
    if (e instanceof BackpressureError) return backpressure(reply, e, type);
    noteStorageFailure(signal, e as Error);
    reply.header('Retry-After', '5');
    return answer(reply, 503, `storing ${signal} failed; retry later (${(e as Error).message})`, type);
  };

  let grpc: OtlpGrpcServer | undefined;
  const ingest: TelemetryIngest = {
    store,
    grpcAddress: undefined,
    stats: () => [spans.stats(), logs.stats(), profiles.stats()],
    async listenGrpc() {
      if (!opts.grpcListen) return undefined;
      grpc = new OtlpGrpcServer({
        maxMessageBytes: opts.maxDecompressedBytes,
        handle: async (signal, body, key) => {
          try {
            if (!(await opts.resolveProject(key))) return { code: GrpcCode.UNAUTHENTICATED, message: projectNotFoundMessage };
            if (batcherOf(signal).full()) throw new BackpressureError(1, `${signal} ingest is behind storage; retry later`);
            await submit(signal, encodeOtlp(signal, body, false));
            return { code: GrpcCode.OK, message: '' };
          } catch (e) {
            if (e instanceof OtlpInvalidError) return { code: GrpcCode.INVALID_ARGUMENT, message: e.message };
            if (e instanceof IngestRequestError) return { code: httpToGrpcCode(e.status), message: e.message };
            if (e instanceof BackpressureError) return { code: GrpcCode.RESOURCE_EXHAUSTED, message: e.message, retryAfterSeconds: e.retryAfterSeconds };
            noteStorageFailure(signal, e as Error);
            return { code: GrpcCode.UNAVAILABLE, message: `storing ${signal} failed; retry later (${(e as Error).message})`, retryAfterSeconds: 5 };
          }
        },
      });
      ingest.grpcAddress = await grpc.listen(opts.grpcListen);
      log(`OTLP gRPC listening on ${ingest.grpcAddress}`);
      return ingest.grpcAddress;
    },
    async close() {
      await grpc?.close();
      await Promise.all([spans.drain(), logs.drain(), profiles.drain()]);
    },
  };
  return ingest;
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

function contentEncoding(req: FastifyRequest): string {
  return String(req.headers['content-encoding'] ?? '').trim().toLowerCase();
}

function apiKey(req: FastifyRequest): string {
  const v = req.headers['x-api-key'];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

/** OTLP/HTTP error bodies are a google.rpc.Status in the request's encoding; plain text otherwise. */
async function answer(reply: FastifyReply, status: number, message: string, type: string, retryAfterSeconds?: number): Promise<void> {
  const code = httpToGrpcCode(status);
  if (type === protobufType) {
    await reply.code(status).type(protobufType).send(Buffer.from(encodeRpcStatus(code, message, retryAfterSeconds)));
  } else if (type === jsonType) {
    await reply.code(status).type(jsonType).send(JSON.stringify({ code, message }));
  } else {
    await reply.code(status).type('text/plain; charset=utf-8').send(`${message}\n`);
  }
}

async function backpressure(reply: FastifyReply, e: BackpressureError, type: string): Promise<void> {
  reply.header('Retry-After', String(e.retryAfterSeconds));
  await answer(reply, 429, e.message, type, e.retryAfterSeconds);
}
