// gRPC server for the request-tracing e2e test, run as its own process inside a stand-in container.
// One unary method, /rootsight.e2e.Outcome/Answer, whose request names the status to answer with:
// {"code": 0} is answered OK (echoing its pad field), any other code fails the call with that gRPC status. Messages are
// JSON, so no .proto file or code generation is needed. Prints "listening <port>" when ready.
import * as grpc from '@grpc/grpc-js';
import { outcomeService } from './outcome-service.mjs';

const [host, port] = process.argv.slice(2);
if (!host || !port) {
  console.error('usage: grpc-server.mjs <host> <port>');
  process.exit(2);
}

const server = new grpc.Server();
server.addService(outcomeService, {
  Answer(call, callback) {
    const code = Number(call.request?.code ?? 0);
    if (code === 0) callback(null, { answered: 'ok', seq: call.request.seq, pad: call.request.pad });
    else callback({ code, details: `asked to fail with ${code}` });
  },
});
server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    console.error(`cannot listen on ${host}:${port}: ${err.message}`);
    process.exit(1);
  }
  console.log(`listening ${bound}`);
});
process.on('SIGTERM', () => server.forceShutdown());
