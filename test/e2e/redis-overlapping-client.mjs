// Ground-truth client for the Redis end-to-end test of overlapping commands: over one connection,
// each round writes its commands one write() each, all before reading any reply (what ioredis and
// other clients that share a connection do when callers issue commands at once), then reads the
// replies. It waits 20 ms after its writes so that every reply of the round is in one read, as
// a client's event loop that was busy would find them (with `nowait` it reads at once, so the
// replies of a round may come in several reads). A last round is written and the
// connection closed without reading its replies. Prints the commands sent, the replies read by
// kind and the commands whose replies were left unread, as JSON.
//   node redis-overlapping-client.mjs HOST PORT ROUNDS [nowait]
import { connect } from 'node:net';

const [host, port, roundsArg, mode] = process.argv.slice(2);
const rounds = Number(roundsArg);
if (!host || !Number.isInteger(rounds) || rounds < 1 || (mode !== undefined && mode !== 'nowait')) {
  console.error('usage: redis-overlapping-client.mjs HOST PORT ROUNDS [nowait] (ROUNDS a positive integer)');
  process.exit(2);
}

/** A command in RESP: an array of bulk strings. */
const command = (...args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
// per round: three that succeed and two that fail (INCR of text, an unknown command)
const ROUND = [command('SET', 'overlap', 'text'), command('GET', 'overlap'), command('INCR', 'overlap'), command('STRLEN', 'overlap'), command('NOSUCHCOMMAND', 'x')];

const socket = connect({ host, port: Number(port) });
await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
socket.on('error', (e) => { console.error(`redis-overlapping-client: ${e.message}`); process.exit(1); });

let buffered = Buffer.alloc(0);
let waiting;
socket.on('data', (d) => { buffered = Buffer.concat([buffered, d]); waiting?.(); });

/** The complete replies at the start of buffered (simple strings, errors, integers, bulk strings): their first bytes. */
function takeReplies() {
  const kinds = [];
  let off = 0;
  for (;;) {
    const eol = buffered.indexOf('\r\n', off);
    if (eol < 0) break;
    const kind = String.fromCharCode(buffered[off]);
    let end = eol + 2;
    if (kind === '$') {
      const n = Number(buffered.subarray(off + 1, eol).toString());
      if (n >= 0) end += n + 2;
      if (end > buffered.length) break;
    }
    kinds.push(kind);
    off = end;
  }
  buffered = buffered.subarray(off);
  return kinds;
}

const pause = new Int32Array(new SharedArrayBuffer(4));
const replies = { ok: 0, failed: 0 };
let sent = 0;
for (let r = 0; r < rounds; r++) {
  for (const c of ROUND) socket.write(c);
  sent += ROUND.length;
  if (mode !== 'nowait') Atomics.wait(pause, 0, 0, 20); // the event loop stays blocked: no read before every reply is in
  let got = 0;
  while (got < ROUND.length) {
    const kinds = takeReplies();
    got += kinds.length;
    for (const k of kinds) replies[k === '-' ? 'failed' : 'ok']++;
    if (got < ROUND.length) await new Promise((resolve) => { waiting = resolve; });
  }
}
for (const c of ROUND) socket.write(c);
sent += ROUND.length;
socket.destroy(); // close() at once: the replies to this round arrive at a closed socket
console.log(JSON.stringify({ sent, replies, unread: ROUND.length }));
