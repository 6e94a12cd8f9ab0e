// NATS and RabbitMQ client connections arrive as raw bytes per syscall (the kernel ships every
// write and read of such a connection, capped); several messages often share one syscall. This
// keeps one stream walker per connection and direction and turns the bytes into messages.
import type { L7Event } from '../kernel/l7-event-decoder.ts';
import { NatsStream } from '../l7/nats.ts';
import { AmqpStream } from '../l7/rabbitmq.ts';

export interface BrokerMessage { protocol: 'nats' | 'rabbitmq'; method: string; direction: 'produce' | 'consume' }

interface Walker { feed(data: Uint8Array, size: number): Array<{ method: string; direction: 'produce' | 'consume' }>; lostSync: number }

const MAX_CONNECTIONS = 10_000;

export class BrokerStreams {
  private readonly connections = new Map<bigint, { written: Walker; read: Walker }>();
  /** Connections not followed because MAX_CONNECTIONS were. */
  connectionsDropped = 0;
  /** Times a walker lost its place (a command or frame header in uncaptured bytes) on connections now closed. */
  private closedLostSync = 0;

  /** Messages in the bytes of one syscall on a client connection (method: produce = written). */
  feed(e: L7Event): BrokerMessage[] {
    if (e.protocol !== 'nats' && e.protocol !== 'rabbitmq') return [];
    let c = this.connections.get(e.connectionId);
    if (!c) {
      if (this.connections.size >= MAX_CONNECTIONS) { this.connectionsDropped++; return []; }
      const mk = (): Walker => (e.protocol === 'nats' ? new NatsStream() : new AmqpStream());
      this.connections.set(e.connectionId, (c = { written: mk(), read: mk() }));
    }
    const written = e.method === 'produce';
    const out: BrokerMessage[] = [];
    for (const m of (written ? c.written : c.read).feed(e.request, e.requestSize)) {
      // A client publishes what it writes and consumes what it reads; anything else is not its message.
      if ((m.direction === 'produce') === written) out.push({ protocol: e.protocol, method: m.method, direction: m.direction });
    }
    return out;
  }

  close(connectionId: bigint): void {
    const c = this.connections.get(connectionId);
    if (!c) return;
    this.closedLostSync += c.written.lostSync + c.read.lostSync;
    this.connections.delete(connectionId);
  }

  get lostSync(): number {
    let n = this.closedLostSync;
    for (const c of this.connections.values()) n += c.written.lostSync + c.read.lostSync;
    return n;
  }
}
