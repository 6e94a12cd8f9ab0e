// Ground-truth AMQP 0-9-1 client for the request-tracing e2e test (amqplib). On one connection:
// declares a queue, consumes from it, publishes a known number of messages to it and a known
// number to a second queue nobody consumes, waits until the consumer has every message of the
// first queue (and acknowledged it), and prints what it published and received.
// Arguments: <host> <port> <consumed> <unconsumed>
import amqp from 'amqplib';

const [host, port, consumed, unconsumed] = process.argv.slice(2);
if (!host || !port || consumed === undefined || unconsumed === undefined) {
  console.error('usage: amqp-client.mjs <host> <port> <consumed> <unconsumed>');
  process.exit(2);
}
const conn = await amqp.connect(`amqp://guest:guest@${host}:${port}`);
const ch = await conn.createConfirmChannel();
const work = (await ch.assertQueue('', { exclusive: true })).queue;
const parked = (await ch.assertQueue('', { exclusive: true })).queue;
let received = 0;
const all = new Promise((resolve) => {
  ch.consume(work, (msg) => {
    if (!msg) return;
    ch.ack(msg);
    if (++received === Number(consumed)) resolve();
  });
});
let published = 0;
for (let i = 0; i < Number(consumed); i++) {
  // Every tenth body is 9000 bytes: larger than one 4 KiB capture piece of the agent.
  ch.sendToQueue(work, Buffer.from(`order ${i} ${'x'.repeat(i % 10 === 0 ? 9000 : i % 40)}`), { messageId: String(i) });
  published++;
}
for (let i = 0; i < Number(unconsumed); i++) {
  ch.sendToQueue(parked, Buffer.from(`parked ${i}`));
  published++;
}
// Publisher confirms: the broker has taken every message.
await ch.waitForConfirms();
await all;
await ch.close();
await conn.close();
console.log(JSON.stringify({ published, received }));
