// google.rpc.Status, the error body of OTLP/HTTP and the details trailer of gRPC, with an optional
// RetryInfo so OTLP exporters know a 429 / RESOURCE_EXHAUSTED is worth retrying, and when.
import { ProtobufWriter } from '@rootsight/common';

export const GrpcCode = { OK: 0, INVALID_ARGUMENT: 3, NOT_FOUND: 5, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

export function encodeRpcStatus(code: number, message: string, retryAfterSeconds?: number): Uint8Array {
  const w = new ProtobufWriter().uint(1, code).string(2, message);
  if (retryAfterSeconds !== undefined) {
    const retryInfo = new ProtobufWriter().message(1, new ProtobufWriter().int64(1, retryAfterSeconds));
    w.message(3, new ProtobufWriter().string(1, 'type.googleapis.com/google.rpc.RetryInfo').message(2, retryInfo));
  }
  return w.finish();
}

export function httpToGrpcCode(status: number): number {
  if (status === 429) return GrpcCode.RESOURCE_EXHAUSTED;
  if (status === 404) return GrpcCode.NOT_FOUND;
  if (status === 401) return GrpcCode.UNAUTHENTICATED;
  if (status >= 500) return GrpcCode.UNAVAILABLE;
  return GrpcCode.INVALID_ARGUMENT;
}
