// POST /v1/metrics: Prometheus remote write 1.0 (snappy block of a protobuf WriteRequest), as sent
// by our agent, Coroot's agent and Prometheus itself. Answers 204 only once the samples are stored,
// so a sender that gets 204 may drop its copy; 4xx means "do not retry", 5xx means "retry".
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RemoteWriteDecodeError, SnappyOutput, snappyUncompress, type MetricMetadata } from '@rootsight/common';
import { requestAuth } from '../auth/access-control.ts';
import type { MetricsStore, SampleBatch, SeriesDay } from '../storage/clickhouse/metrics-store.ts';
import { RowBinaryWriter } from '../storage/clickhouse/row-binary.ts';
import { encodeSampleBlock } from '../storage/clickhouse/sample-block.ts';
import { BackpressureError, GroupCommitBatcher } from './batcher.ts';
import { ReusePool } from './reuse-pool.ts';
import { SampleColumnsPool } from './sample-columns.ts';
import { InvalidSamplesError, SeriesIdentityCache, decodeWriteRequestSamples } from './write-request-rows.ts';

export const protobufContentType = 'application/x-protobuf';

export interface RemoteWriteLimits {
  /** Largest compressed body accepted (413 above). */
  maxCompressedBytes: number;
  /** Largest decompressed WriteRequest accepted (413 above). */
  maxDecompressedBytes: number;
  /** Encoded samples waiting for or in an insert; beyond it requests get 503 + Retry-After. */
  queueBytes: number;
  /** Samples per ClickHouse insert when concurrent requests are written together. */
  maxBatchSamples: number;
}

export const defaultRemoteWriteLimits: RemoteWriteLimits = {
  maxCompressedBytes: 32 * 1024 * 1024,
  maxDecompressedBytes: 128 * 1024 * 1024,
  queueBytes: 256 * 1024 * 1024,
  maxBatchSamples: 1_000_000,
};

/**
 * One request's samples, already as a Native block of the samples table, the series rows they may
 * need, and the decoded columns (for the in-memory head once stored).
 */
interface EncodedSamples { payload: Buffer; samples: number; seriesDays: SeriesDay[]; batch: SampleBatch }

export interface RemoteWriteOptions {
  store: MetricsStore;
  limits: RemoteWriteLimits;
  log: (msg: string) => void;
  now?: () => number;
}

export function registerRemoteWrite(app: FastifyInstance, opts: RemoteWriteOptions): void {
  const now = opts.now ?? Date.now;
  const keys = new ApiKeyRecorder(opts.log);
  const seriesCache = new SeriesIdentityCache();
  // Group commit: requests that arrive while an insert runs go into the next one together, and each
  // is answered only when the insert holding its samples has finished.
  const samples = new GroupCommitBatcher<EncodedSamples>({
    name: 'metrics',
    maxBytes: opts.limits.queueBytes,
    maxBatchRows: opts.limits.maxBatchSamples,
    rowsOf: (e) => e.samples,
    write: async (items) => {
      if (items.length === 1) await opts.store.insertEncodedSamples(items[0]!.payload, items[0]!.seriesDays, [items[0]!.batch]);
      else await opts.store.insertEncodedSamples(items.map((i) => i.payload), items.flatMap((i) => i.seriesDays), items.map((i) => i.batch));
    },
  });
  const storageFailures = new Set<string>();
  // Decompressed requests are only read while decoding, synchronously: one buffer serves them all.
  const decompressed = new SnappyOutput();
  // Row buffers come back once journaled, sample columns once the PromQL head has copied them.
  const rowBuffers = new ReusePool<Buffer>((b) => b.length);
  const columns = new SampleColumnsPool();

  app.post('/v1/metrics', {
    bodyLimit: opts.limits.maxCompressedBytes,
    // Checked before the body is parsed, so a JSON or text body never reaches another parser.
    onRequest: async (req, reply) => {
      const contentType = mediaType(req.headers['content-type']);
      if (contentType !== protobufContentType) {
        return fail(reply, 415, `POST /v1/metrics expects Content-Type: ${protobufContentType} (a snappy-compressed Prometheus remote-write WriteRequest), got ${contentType ? `"${contentType}"` : 'none'}`);
      }
      const encoding = String(req.headers['content-encoding'] ?? 'snappy').toLowerCase();
      if (encoding !== 'snappy') return fail(reply, 415, `POST /v1/metrics expects Content-Encoding: snappy, got "${encoding}"`);
    },
  }, async (req, reply) => {
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) return fail(reply, 400, 'empty body: expected a snappy-compressed remote-write WriteRequest');

    // The snappy header declares the output size; refusing before decompression keeps a tiny
    // malicious body from allocating gigabytes.
    const declared = snappyDeclaredLength(body);
    if (declared !== undefined && declared > opts.limits.maxDecompressedBytes) {
      return fail(reply, 413, `decompressed body would be ${declared} bytes, over the limit of ${opts.limits.maxDecompressedBytes} bytes; send smaller batches`);
    }
    if (samples.full()) return overloaded(reply, new BackpressureError(1, 'metrics ingest is behind storage; retry later'));
    let encoded: EncodedSamples;
    let metadata: MetricMetadata[];
    let rows: RowBinaryWriter | undefined;
    try {
      const bytes = snappyUncompress(body, opts.limits.maxDecompressedBytes, decompressed);
      const decoded = decodeWriteRequestSamples(bytes, now(), seriesCache, undefined, columns);
      // Encoded here rather than in the insert, so this request's CPU work overlaps the running
      // insert. A sample is ~20 bytes on the wire and ~25 in a block.
      const blockBytes = 1024 + decoded.samples.length * 32;
      rows = new RowBinaryWriter(0);
      rows.buf = rowBuffers.take(blockBytes) ?? Buffer.allocUnsafe(blockBytes);
      const seriesDays = encodeSampleBlock(decoded.samples, rows);
      encoded = { payload: rows.view(), samples: decoded.samples.length, seriesDays, batch: decoded.samples };
      metadata = decoded.metadata.filter((m) => m.family !== '');
    } catch (e) {
      if (rows) rowBuffers.give(rows.buf);
      if (e instanceof RemoteWriteDecodeError || e instanceof InvalidSamplesError) return fail(reply, 400, e.message);
      throw e;
    }
    // The access hook has already resolved X-API-Key to a project (404 for an unknown key).
    keys.record(apiKey(req), requestAuth(req).projectId ?? '?', encoded.samples);
    try {
      if (encoded.samples > 0) await samples.submit([encoded], encoded.payload.length);
      if (metadata.length > 0) await opts.store.insertMetadata(metadata, now());
    } catch (e) {
      if (e instanceof BackpressureError) return overloaded(reply, e);
      const msg = (e as Error).message;
      if (storageFailures.size < 100 && !storageFailures.has(msg)) {
        storageFailures.add(msg);
        opts.log(`remote write: storing failed, answering 503 (retry): ${msg}`);
      }
      reply.header('Retry-After', '5');
      return fail(reply, 503, `storing samples failed; retry later (${msg})`);
    } finally {
      // Journaled (or inserted, or refused): nothing reads the rows any more.
      rowBuffers.give(rows.buf);
    }
    return reply.code(204).send();
  });
}

/**
 * Storage is behind. 503 rather than 429: every remote-write sender retries a 5xx, while
 * Prometheus retries a 429 only when configured to.
 */
async function overloaded(reply: FastifyReply, e: BackpressureError): Promise<void> {
  reply.header('Retry-After', String(e.retryAfterSeconds));
  await fail(reply, 503, e.message);
}

async function fail(reply: FastifyReply, code: number, message: string): Promise<void> {
  await reply.code(code).type('text/plain; charset=utf-8').send(`${message}\n`);
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

function apiKey(req: FastifyRequest): string {
  const v = req.headers['x-api-key'];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

/** Reads the varint length preamble of a snappy block; undefined when it is malformed. */
function snappyDeclaredLength(buf: Buffer): number | undefined {
  let result = 0;
  for (let i = 0, shift = 0; i < Math.min(buf.length, 5); i++, shift += 7) {
    const b = buf[i]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return result;
  }
  return undefined;
}

/**
 * Notes which keys send data into which project, once per key. Only a short hash is logged: keys
 * are secrets.
 */
const maxRecordedKeys = 1000;

class ApiKeyRecorder {
  private readonly seen = new Map<string, { requests: number; samples: number }>();
  constructor(private readonly log: (msg: string) => void) {}

  record(key: string, projectId: string, samples: number): void {
    const id = key === '' ? '(empty)' : `sha256:${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
    let s = this.seen.get(id);
    if (!s) {
      if (this.seen.size >= maxRecordedKeys) return; // bounded: a key-spraying client cannot grow memory
      s = { requests: 0, samples: 0 };
      this.seen.set(id, s);
      this.log(`remote write: first data with X-API-Key ${id} into project ${projectId}`);
    }
    s.requests++;
    s.samples += samples;
  }
}
