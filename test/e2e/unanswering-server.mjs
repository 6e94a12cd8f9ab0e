// A TCP server for the unanswered-request test, with one port per behaviour:
//   <port>     reads a request and closes the connection without answering;
//   <port + 1> reads requests and never answers (closes only when the client does);
//   <port + 2> answers every HTTP request with 200 and closes (the control: nothing unanswered);
//   UDP <port + 3> reads DNS queries and never answers.
// Prints "listening" once all of them are bound.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const [host, portArg] = process.argv.slice(2);
const base = Number(portArg);
const behaviours = [
  (s) => s.once('data', () => s.destroy()),
  (s) => { s.on('data', () => {}); s.on('end', () => s.destroy()); },
  (s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n')),
];
await Promise.all(behaviours.map((handle, i) => new Promise((resolve, reject) => {
  const server = createServer((s) => { s.on('error', () => {}); handle(s); });
  server.once('error', reject);
  server.listen(base + i, host, resolve);
})));
await new Promise((resolve, reject) => {
  const dns = createSocket('udp4');
  dns.on('message', () => {}); // read, never answered
  dns.once('error', reject);
  dns.bind(base + 3, host, resolve);
});
console.log('listening');
