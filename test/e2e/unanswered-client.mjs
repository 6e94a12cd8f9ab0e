// Client for the unanswered-request test: CONNECTIONS connections one after another; on each,
// writes the request PER_CONNECTION times (every write its own syscall: the next starts once the
// previous is in the kernel), then either waits for the server to close or closes itself.
// Prints what it did as JSON: {"connections":n,"requests":n,"answered":n}.
//   node unanswered-client.mjs <host> <port> <http|redis|memcached> <connections> <per-connection> <wait-for-close|close>
import { connect } from 'node:net';

const [host, port, protocol, connections, perConnection, ending] = process.argv.slice(2);
const payloads = {
  http: (i) => `GET /request/${i} HTTP/1.1\r\nHost: test\r\n\r\n`,
  redis: () => '*1\r\n$4\r\nPING\r\n',
  memcached: (i) => `get key${i}\r\n`,
};
const payload = payloads[protocol];
if (!payload || !['wait-for-close', 'close'].includes(ending)) {
  console.error('usage: unanswered-client.mjs <host> <port> <http|redis|memcached> <connections> <per-connection> <wait-for-close|close>');
  process.exit(2);
}
let requests = 0, answered = 0;
for (let c = 0; c < Number(connections); c++) {
  const socket = connect(Number(port), host);
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.on('data', (d) => { if (d.toString().startsWith('HTTP/1.1 200')) answered++; });
  for (let i = 0; i < Number(perConnection); i++) {
    await new Promise((resolve, reject) => socket.write(payload(i), (err) => (err ? reject(err) : resolve())));
    requests++;
  }
  if (ending === 'close') socket.destroy();
  await closed;
}
console.log(JSON.stringify({ connections: Number(connections), requests, answered }));
