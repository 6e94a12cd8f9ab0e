// The one gRPC service of the e2e tests, shared by grpc-server.mjs and its clients:
// /rootsight.e2e.Outcome/Answer, a unary method whose request names the status to answer with.
// Messages are JSON, so no .proto file or code generation is needed.
import * as grpc from '@grpc/grpc-js';

const json = {
  serialize: (value) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes) => JSON.parse(bytes.toString()),
};

export const outcomeService = {
  Answer: {
    path: '/rootsight.e2e.Outcome/Answer', requestStream: false, responseStream: false,
    requestSerialize: json.serialize, requestDeserialize: json.deserialize,
    responseSerialize: json.serialize, responseDeserialize: json.deserialize,
  },
};

/** A client of the service at host:port, without TLS. */
export function outcomeClient(host, port) {
  const Outcome = grpc.makeGenericClientConstructor(outcomeService, 'Outcome');
  return new Outcome(`${host}:${port}`, grpc.credentials.createInsecure());
}

/** gRPC status names by code ("OK", "NOT_FOUND", ...). */
export const statusNames = Object.fromEntries(Object.entries(grpc.status).map(([name, code]) => [code, name]));
