// All L7 parsers and protocol detection on the first bytes a client writes on a connection.
//
// Detection order (first match wins). It follows the BPF order of reference §3.1 (HTTP → Postgres
// → Redis → Memcached → MySQL → Mongo → RabbitMQ → NATS → Cassandra → HTTP/2 → ClickHouse → Kafka
// → DNS) with one change: HTTP/2 is split into the specific client-preface check, done right after
// HTTP/1 (24 fixed bytes), and the loose bare-frame check, done last. Why, and the other overlaps:
//
// - HTTP/2 bare frame header (length+9 ≤ size, type ≤ 9) matches a lot of binary data: any Kafka
//   request whose size's low byte is ≤ 9 and any short binary write starting with 00 00 00. Putting
//   it last means a connection seen mid-stream is only called HTTP/2 when nothing else fits. The
//   preface, which every HTTP/2 client sends first, is unambiguous.
// - DNS needs only 6 header bytes with QR=0, opcode 0, QDCOUNT=1: very loose over TCP/unknown
//   transport, so it sits after every length-checked binary protocol. Callers that know the socket
//   is UDP should try `dnsParser` first (DNS is practically the only UDP protocol here).
// - Cassandra checks a version byte 3–5 and an opcode at byte 4; a MySQL packet cannot collide
//   (MySQL is checked first and its commands 0x03/0x16/0x17/0x19 differ from 0x07/0x0a/0x0d), but a
//   Kafka/other frame with 03..05 at byte 0 could — Kafka sizes < 50 MiB start with 0x00..0x03, so
//   Cassandra goes before Kafka as in the BPF order (a 48+ MiB Kafka frame is not plausible as a
//   first write).
// - Postgres Q/C need BE length + 1 == size; MySQL needs LE length + 4 == size and seq 0; Kafka BE
//   length + 4 == size. A buffer satisfying two of these at once would need a very specific size;
//   first match wins in the order above. Payloads cut at the 1 KiB cap relax "== size" to "> size"
//   for the statement-carrying ones, which makes them slightly looser only for 1024-byte buffers.
// - Memcached and NATS are text, checked after HTTP/Redis; their verbs do not overlap with HTTP
//   methods or RESP's leading `*`.
import type { L7Parser, L7Protocol } from './l7-parser.ts';
import { httpParser } from './http.ts';
import { http2Parser, isHttp2Frame, isHttp2Preface } from './http2.ts';
import { postgresParser } from './postgres.ts';
import { redisParser } from './redis.ts';
import { memcachedParser } from './memcached.ts';
import { mysqlParser } from './mysql.ts';
import { mongoParser } from './mongo.ts';
import { rabbitmqParser } from './rabbitmq.ts';
import { natsParser } from './nats.ts';
import { cassandraParser } from './cassandra.ts';
import { clickhouseParser } from './clickhouse.ts';
import { kafkaParser } from './kafka.ts';
import { dnsParser } from './dns.ts';

export interface DetectionStep {
  parser: L7Parser;
  /** The check used at this position (for HTTP/2 a narrower one than parser.detectRequest). */
  detect(payload: Uint8Array): boolean;
}

/** Detection steps in order; HTTP/2 appears twice (preface early, bare frame last). */
export const DETECTION_ORDER: readonly DetectionStep[] = [
  { parser: httpParser, detect: httpParser.detectRequest },
  { parser: http2Parser, detect: isHttp2Preface },
  { parser: postgresParser, detect: postgresParser.detectRequest },
  { parser: redisParser, detect: redisParser.detectRequest },
  { parser: memcachedParser, detect: memcachedParser.detectRequest },
  { parser: mysqlParser, detect: mysqlParser.detectRequest },
  { parser: mongoParser, detect: mongoParser.detectRequest },
  { parser: rabbitmqParser, detect: rabbitmqParser.detectRequest },
  { parser: natsParser, detect: natsParser.detectRequest },
  { parser: cassandraParser, detect: cassandraParser.detectRequest },
  { parser: clickhouseParser, detect: clickhouseParser.detectRequest },
  { parser: kafkaParser, detect: kafkaParser.detectRequest },
  { parser: dnsParser, detect: dnsParser.detectRequest },
  { parser: http2Parser, detect: isHttp2Frame },
];

/** Every parser once, in the order of their first detection step. */
export const L7_PARSERS: readonly L7Parser[] = [...new Set(DETECTION_ORDER.map((s) => s.parser))];

const BY_PROTOCOL = new Map<L7Protocol, L7Parser>(L7_PARSERS.map((p) => [p.protocol, p]));

export function parserFor(protocol: L7Protocol): L7Parser | undefined {
  return BY_PROTOCOL.get(protocol);
}

/** The parser whose request detector first accepts these first bytes written on a connection. */
export function detectProtocol(firstBytes: Uint8Array): L7Parser | undefined {
  if (firstBytes.length === 0) return undefined;
  for (const step of DETECTION_ORDER) if (step.detect(firstBytes)) return step.parser;
  return undefined;
}
