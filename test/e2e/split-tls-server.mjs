// An HTTPS server (Node.js, OpenSSL) that sends each TLS record it writes in two TCP segments 50 ms
// apart, so the client's SSL_read first sees half a record and returns -1 ("want read"). A tracer
// that took that -1 for bytes of plaintext would pair the pending request with whatever its read
// buffer held before (the previous response). Answers 200 for /, 500 for /fail, 404 otherwise.
//   node split-tls-server.mjs <port> <cert.pem> <key.pem>
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';

const [port, certFile, keyFile] = process.argv.slice(2);
const context = tls.createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
const http = createServer((req, res) => {
  const status = req.url === '/' ? 200 : req.url === '/fail' ? 500 : 404;
  res.writeHead(status, { 'Content-Type': 'text/plain' }).end(`${status}\n`);
});

/** The TCP socket as the TLS layer sees it: reads pass through, each write goes out in two halves. */
function splitting(socket) {
  let queue = Promise.resolve();
  const duplex = new Duplex({
    read() {},
    write(chunk, _encoding, done) {
      queue = queue.then(async () => {
        const half = Math.max(1, chunk.length >> 1);
        socket.write(chunk.subarray(0, half));
        await new Promise((r) => setTimeout(r, 50));
        if (chunk.length > half) socket.write(chunk.subarray(half));
      });
      done();
    },
    final(done) { queue.then(() => socket.end()).then(() => done()); },
  });
  socket.on('data', (d) => duplex.push(d));
  socket.on('end', () => duplex.push(null));
  socket.on('error', () => duplex.destroy());
  return duplex;
}

net.createServer((socket) => {
  socket.setNoDelay(true);
  const secure = new tls.TLSSocket(splitting(socket), { isServer: true, secureContext: context });
  http.emit('connection', secure);
}).listen(Number(port), '0.0.0.0', () => console.log(`listening on ${port}`));
