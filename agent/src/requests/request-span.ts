// A span per captured request, with the attributes Coroot's agent puts on them
// (reference/node-agent.md §6.1). A request that carries a W3C traceparent joins that trace
// as its child, so spans of instrumented and uninstrumented services form one trace.
import { randomId } from './random-ids.ts';
import type { AgentSpan, AttributeValue } from '../export/otlp-traces.ts';
import type { L7Protocol, L7RequestInfo, L7ResponseInfo } from '../l7/l7-parser.ts';

export interface CapturedRequest {
  protocol: L7Protocol;
  direction: 'outbound' | 'inbound';
  request: L7RequestInfo;
  response: L7ResponseInfo | undefined;
  /** Wall-clock start and duration. */
  startUnixNano: bigint;
  durationNs: bigint;
  /** The other side: server for outbound, client for inbound. */
  peerIp: string;
  peerPort: number;
  /** Read in plaintext at a TLS library (OpenSSL or Go uprobes). */
  tls?: boolean;
}

const dbSystem: Partial<Record<L7Protocol, string>> = {
  postgres: 'postgresql', mysql: 'mysql', mongo: 'mongodb', redis: 'redis', memcached: 'memcached', clickhouse: 'clickhouse',
};

/** 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>; all-zero ids are invalid. */
export function parseTraceparent(header: string | undefined): { traceId: Uint8Array; parentSpanId: Uint8Array } | undefined {
  if (header === undefined) return undefined; // most requests: no regex run for them
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(header?.trim().toLowerCase() ?? '');
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return { traceId: Buffer.from(m[2]!, 'hex'), parentSpanId: Buffer.from(m[3]!, 'hex') };
}

export function spanFromRequest(c: CapturedRequest): AgentSpan | undefined {
  const attrs: Record<string, AttributeValue> = { 'net.peer.name': c.peerIp, 'net.peer.port': c.peerPort };
  const req = c.request;
  let name: string;
  let error = false;
  const status = c.response?.status;
  switch (c.protocol) {
    case 'http':
    case 'http2': {
      if (c.protocol === 'http' && !req.method) return undefined;
      name = req.method ?? 'unknown';
      // The scheme is not on the wire: https when the bytes came from a TLS library's probes.
      attrs['http.url'] = `${c.tls ? 'https' : 'http'}://${req.host ?? `${c.peerIp}:${c.peerPort}`}${req.path ?? '/'}`;
      attrs['http.method'] = name;
      const grpc = status?.startsWith('grpc:');
      if (c.response?.code !== undefined) {
        if (grpc) attrs['rpc.grpc.status_code'] = c.response.code;
        else attrs['http.status_code'] = c.response.code;
      }
      error = grpc ? (c.response?.code ?? 0) > 0 : (c.response?.code ?? 0) >= 400;
      break;
    }
    case 'postgres': case 'mysql': case 'mongo': case 'clickhouse': case 'redis': case 'memcached': {
      const statement = req.statement ?? '';
      if (!statement && c.protocol !== 'clickhouse') return undefined;
      attrs['db.system'] = dbSystem[c.protocol]!;
      if (c.protocol === 'redis' || c.protocol === 'memcached') {
        name = req.method ?? statement.split(' ')[0]!;
        attrs['db.operation'] = name;
      } else {
        name = 'query';
      }
      attrs['db.statement'] = statement;
      error = status === 'failed';
      break;
    }
    default:
      return undefined; // kafka, cassandra, rabbitmq, nats, dns: metrics only
  }
  const parent = parseTraceparent(req.traceparent);
  return {
    traceId: parent?.traceId ?? randomId(16),
    spanId: randomId(8),
    parentSpanId: parent?.parentSpanId,
    name,
    kind: c.direction === 'outbound' ? 'client' : 'server',
    startTimeUnixNano: c.startUnixNano,
    endTimeUnixNano: c.startUnixNano + c.durationNs,
    attributes: attrs,
    error,
  };
}
