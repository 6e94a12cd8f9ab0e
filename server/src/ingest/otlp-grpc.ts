// OTLP over gRPC: opentelemetry.proto.collector.{trace,logs}.v1.{TraceService,LogsService}/Export.
// Messages stay raw bytes (identity (de)serializers) and go through the same decoder as
// OTLP/HTTP protobuf; grpc-js undoes gzip/deflate message compression itself.
import { Metadata, Server, ServerCredentials, status, type ServiceDefinition, type handleUnaryCall } from '@grpc/grpc-js';
import { encodeRpcStatus } from './rpc-status.ts';

export interface GrpcOutcome { code: number; message: string; retryAfterSeconds?: number }

export interface OtlpGrpcOptions {
  maxMessageBytes: number;
  handle(signal: 'traces' | 'logs', body: Buffer, apiKey: string): Promise<GrpcOutcome>;
}

const identity = (b: Buffer) => b;

function exportService(path: string): ServiceDefinition {
  return {
    Export: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
}

export class OtlpGrpcServer {
  private readonly server: Server;

  constructor(private readonly opts: OtlpGrpcOptions) {
    this.server = new Server({
      'grpc.max_receive_message_length': opts.maxMessageBytes,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
    });
    this.server.addService(exportService('/opentelemetry.proto.collector.trace.v1.TraceService/Export'), { Export: this.handler('traces') });
    this.server.addService(exportService('/opentelemetry.proto.collector.logs.v1.LogsService/Export'), { Export: this.handler('logs') });
  }

  private handler(signal: 'traces' | 'logs'): handleUnaryCall<Buffer, Buffer> {
    return (call, callback) => {
      const key = call.metadata.get('x-api-key')[0];
      this.opts.handle(signal, call.request, typeof key === 'string' ? key : key ? key.toString() : '').then((out) => {
        if (out.code === status.OK) return callback(null, Buffer.alloc(0));
        const md = new Metadata();
        md.set('grpc-status-details-bin', Buffer.from(encodeRpcStatus(out.code, out.message, out.retryAfterSeconds)));
        if (out.retryAfterSeconds !== undefined) md.set('retry-after', String(out.retryAfterSeconds));
        callback({ code: out.code, details: out.message, metadata: md });
      }, (e: Error) => callback({ code: status.INTERNAL, details: e.message }));
    };
  }

  /** Binds host:port (port 0 = any free port) and returns the bound address. */
  listen(address: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) => {
        if (err) return reject(new Error(`--otlp-grpc-listen ${address}: ${err.message}`));
        const host = address.slice(0, address.lastIndexOf(':'));
        resolve(`${host}:${port}`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.server.forceShutdown(); resolve(); }, 2000);
      this.server.tryShutdown(() => { clearTimeout(t); resolve(); });
    });
  }
}
