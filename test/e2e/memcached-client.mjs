// Ground-truth client for the Memcached end-to-end test: speaks the text protocol over one
// connection, one command at a time (each response read in full before the next command), and
// prints how many of each command it sent and how many responses of each kind it read, as JSON.
//   node memcached-client.mjs HOST PORT ROUNDS
import { connect } from 'node:net';

const [host, port, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg);
if (!host || !Number.isInteger(rounds) || rounds < 1) {
  console.error('usage: memcached-client.mjs HOST PORT ROUNDS (ROUNDS a positive integer)');
  process.exit(2);
}

const socket = connect({ host, port: Number(port) });
await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });

let buffered = '';
let waiting;
socket.on('data', (d) => { buffered += d.toString('latin1'); waiting?.(); });
socket.on('error', (e) => { console.error(`memcached-client: ${e.message}`); process.exit(1); });

/** A response is complete when it is one status line, or VALUE blocks closed by END. */
function complete(text) {
  if (!text.endsWith('\r\n')) return false;
  if (text.startsWith('VALUE ')) return text.endsWith('END\r\n');
  return text.indexOf('\r\n') === text.length - 2;
}

const sent = {};
const replies = {};
async function command(line, data) {
  const cmd = line.split(' ')[0];
  sent[cmd] = (sent[cmd] ?? 0) + 1;
  socket.write(data === undefined ? `${line}\r\n` : `${line}\r\n${data}\r\n`);
  while (!complete(buffered)) await new Promise((r) => { waiting = r; });
  const kind = /^\d+\r\n$/.test(buffered) ? 'NUMBER' : buffered.split(/[ \r]/)[0];
  replies[kind] = (replies[kind] ?? 0) + 1;
  buffered = '';
}

for (let i = 0; i < rounds; i++) {
  await command(`set key:${i} 0 0 5`, 'hello');       // STORED
  await command(`get key:${i}`);                       // VALUE … END (hit)
  await command(`get absent:${i}`);                    // END (miss)
  await command(`add key:${i} 0 0 1`, 'x');            // NOT_STORED (exists)
  await command(`set counter:${i} 0 0 1`, '7');        // STORED
  await command(`incr counter:${i} 5`);                // 12
  await command(`incr key:${i} 1`);                    // CLIENT_ERROR (not a number)
  await command(`touch key:${i} 100`);                 // TOUCHED
  await command(`delete key:${i}`);                    // DELETED
  await command(`delete key:${i}`);                    // NOT_FOUND
}
socket.end();
console.log(JSON.stringify({ sent, replies }));
