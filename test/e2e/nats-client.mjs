// Ground-truth NATS client for the request-tracing e2e test (the `nats` npm client). On one
// connection: subscribes to `orders`, publishes a known number of messages to `orders` (half of
// them with headers, i.e. HPUB) and to `audit` (nobody listens), waits until the subscription
// has received every `orders` message, and prints what it published and received.
// Arguments: <host> <port> <orders> <audit>
import { connect, headers } from 'nats';

const [host, port, orders, audit] = process.argv.slice(2);
if (!host || !port || orders === undefined || audit === undefined) {
  console.error('usage: nats-client.mjs <host> <port> <orders> <audit>');
  process.exit(2);
}
const nc = await connect({ servers: `${host}:${port}`, reconnect: false });
const sub = nc.subscribe('orders');
let received = 0;
const all = (async () => {
  for await (const _ of sub) if (++received === Number(orders)) break;
})();
// The SUB must reach the server before the first PUB, or early messages are not delivered.
await nc.flush();
let published = 0;
for (let i = 0; i < Number(orders); i++) {
  const h = i % 2 === 0 ? headers() : undefined;
  h?.set('seq', String(i));
  // Every tenth payload is 9000 bytes: larger than one 4 KiB capture piece of the agent.
  nc.publish('orders', new TextEncoder().encode(`order ${i} ${i % 10 === 0 ? 'x'.repeat(9000) : ''}`), h ? { headers: h } : undefined);
  published++;
}
for (let i = 0; i < Number(audit); i++) {
  nc.publish('audit', new TextEncoder().encode(`audit ${i} ${'x'.repeat(i % 50)}`));
  published++;
}
await nc.flush();
await all;
await nc.close();
console.log(JSON.stringify({ published, received }));
