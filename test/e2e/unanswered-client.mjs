// Client for the unanswered-request test: CONNECTIONS connections one after another; on each,
// writes the request PER_CONNECTION times (every write its own syscall: the next starts once the
// previous is in the kernel), then either waits for the server to close or closes itself; with
// `exit` it leaves every connection open and the process exits without close() (the kernel closes
// the sockets); with `hold` it keeps every connection open until all have sent, then closes them
// all (so many requests are pending at once); `hold-twice` does the same, then writes the request
// once more on every connection before closing them all.
// Prints what it did as JSON: {"connections":n,"requests":n,"answered":n}.
// dns: each "connection" is a UDP socket that sends PER_CONNECTION queries (distinct ids) and is
// closed after a short wait for answers (ending must be close).
//   node unanswered-client.mjs <host> <port> <http|redis|memcached|dns> <connections> <per-connection> <wait-for-close|close|exit|hold|hold-twice>
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

const [host, port, protocol, connections, perConnection, ending] = process.argv.slice(2);
const payloads = {
  http: (i) => `GET /request/${i} HTTP/1.1\r\nHost: test\r\n\r\n`,
  redis: () => '*1\r\n$4\r\nPING\r\n',
  memcached: (i) => `get key${i}\r\n`,
};
/** A standard query for A <name> with the given id. */
function dnsQuery(id, name) {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // recursion desired
  header.writeUInt16BE(1, 4); // one question
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

const payload = payloads[protocol];
if ((!payload && protocol !== 'dns') || !['wait-for-close', 'close', 'exit', 'hold', 'hold-twice'].includes(ending) || (protocol === 'dns' && ending !== 'close')) {
  console.error('usage: unanswered-client.mjs <host> <port> <http|redis|memcached|dns> <connections> <per-connection> <wait-for-close|close|exit|hold|hold-twice>');
  process.exit(2);
}
let requests = 0, answered = 0;
const held = [];
if (protocol === 'dns') {
  for (let c = 0; c < Number(connections); c++) {
    const socket = createSocket('udp4');
    socket.on('message', () => { answered++; });
    for (let i = 0; i < Number(perConnection); i++) {
      await new Promise((resolve, reject) => socket.send(dnsQuery(1000 * (c + 1) + i, `q${i}.unanswered.test`), Number(port), host, (err) => (err ? reject(err) : resolve())));
      requests++;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => socket.close(resolve));
  }
  console.log(JSON.stringify({ connections: Number(connections), requests, answered }));
  process.exit(0);
}
for (let c = 0; c < Number(connections); c++) {
  const socket = connect(Number(port), host);
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.on('data', (d) => { if (d.toString().startsWith('HTTP/1.1 200')) answered++; });
  for (let i = 0; i < Number(perConnection); i++) {
    await new Promise((resolve, reject) => socket.write(payload(i), (err) => (err ? reject(err) : resolve())));
    requests++;
  }
  if (ending === 'exit') continue;
  if (ending.startsWith('hold')) { held.push({ socket, closed }); continue; }
  if (ending === 'close') socket.destroy();
  await closed;
}
if (ending === 'hold-twice') {
  for (const { socket } of held) {
    await new Promise((resolve, reject) => socket.write(payload(0), (err) => (err ? reject(err) : resolve())));
    requests++;
  }
}
// Before the first close, give the server time to read what was written last: the tests count on
// every held request being pending on both ends at once (a close frees its connection's entries,
// and a request the server read only after that would find room that was not there before).
if (held.length > 0) await new Promise((resolve) => setTimeout(resolve, 1000));
for (const { socket } of held) socket.destroy();
await Promise.all(held.map((h) => h.closed));
console.log(JSON.stringify({ connections: Number(connections), requests, answered }));
// Node's process.exit() closes no sockets itself (checked with strace): they die with the process.
if (ending === 'exit') process.exit(0);
