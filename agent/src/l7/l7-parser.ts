// The contract every protocol parser under agent/src/l7/ implements. The kernel pairs a request
// with its response per connection and hands user space a capped prefix of each (about 1 KiB of
// the request, a few hundred bytes of the response); parsers turn those bytes into what the
// metrics and spans need. Parsers are pure, never throw, and never trust a length field.

export type L7Protocol =
  | 'http' | 'http2' | 'postgres' | 'mysql' | 'redis' | 'memcached' | 'mongo' | 'kafka'
  | 'rabbitmq' | 'nats' | 'dns' | 'clickhouse' | 'cassandra';

/** What a request says about itself. Fields a protocol does not have stay undefined. */
export interface L7RequestInfo {
  /** HTTP method, Redis/Memcached command, DNS query type (TypeA, …), Postgres message kind. */
  method?: string;
  /** HTTP request target / gRPC path. */
  path?: string;
  /** HTTP Host or :authority. */
  host?: string;
  /** SQL text, "CMD arg ...", Mongo command as JSON: what a span shows as db.statement. */
  statement?: string;
  /** DNS question name. */
  domain?: string;
  /** W3C traceparent header when the request carries one. */
  traceparent?: string;
  /** produce / consume for message brokers. */
  direction?: 'produce' | 'consume';
}

/** The status label of reference/node-agent.md §1.5 for this protocol, e.g. "2xx", "ok", "grpc:NOT_FOUND", "nxdomain". */
export interface L7ResponseInfo {
  status: string;
  /** Numeric code where the protocol has one (HTTP status, gRPC status, DNS rcode). */
  code?: number;
  /** DNS A/AAAA answers. */
  addresses?: string[];
}

export interface L7Parser {
  protocol: L7Protocol;
  /** Do these first bytes written on a connection look like a request of this protocol? Cheap; no allocation on a miss. */
  detectRequest(payload: Uint8Array): boolean;
  parseRequest(payload: Uint8Array): L7RequestInfo | undefined;
  /** undefined when the bytes are not a response of this protocol. */
  parseResponse(payload: Uint8Array, request?: L7RequestInfo): L7ResponseInfo | undefined;
  /** parseResponse reads its request (MySQL's command, DNS's question, a stream id): the pipeline
   * parses requests only for that, for spans and for labels taken from requests. */
  responseUsesRequest?: boolean;
  /** For protocols whose clients pipeline (several requests in one write, answered in order):
   * one entry per request found in the captured bytes, each with its own reply's status.
   * undefined when the write holds a single request. */
  splitPipelined?(request: Uint8Array, response: Uint8Array): Array<{ request: L7RequestInfo; response: L7ResponseInfo }> | undefined;
}
