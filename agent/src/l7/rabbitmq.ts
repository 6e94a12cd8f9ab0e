// AMQP 0-9-1 method frames: type 1, channel u16, size u32, payload (class u16, method u16, args),
// frame-end 0xCE at 7 + size. Basic.Publish written → produce; Basic.Deliver read → consume.
// Status is always "ok" (reference §1.5).
import type { L7Parser, L7RequestInfo, L7ResponseInfo } from './l7-parser.ts';
import { u16be, u32be } from './util.ts';

export const AMQP_BASIC = 60;
export const AMQP_PUBLISH = 40;
export const AMQP_DELIVER = 60;

interface Method { classId: number; methodId: number; payloadStart: number; end: number }

/** The first frame as an AMQP method frame, or undefined. */
function methodFrame(b: Uint8Array): Method | undefined {
  if (b.length < 12 || b[0] !== 1) return undefined;
  const size = u32be(b, 3);
  if (size < 4 || 7 + size >= b.length || b[7 + size] !== 0xce) return undefined;
  return { classId: u16be(b, 7), methodId: u16be(b, 9), payloadStart: 11, end: 7 + size };
}

function shortstr(b: Uint8Array, o: number, end: number): [string, number] | undefined {
  if (o >= end) return undefined;
  const l = b[o];
  if (o + 1 + l > end) return undefined;
  let s = '';
  for (let i = o + 1; i < o + 1 + l; i++) s += String.fromCharCode(b[i]);
  return [s, o + 1 + l];
}

export interface AmqpMessageInfo extends L7RequestInfo {
  exchange?: string;
  routingKey?: string;
}

/** Publish → produce; Deliver → consume (a read on an outbound connection); else undefined. */
export function parseAmqpMessage(b: Uint8Array): AmqpMessageInfo | undefined {
  const m = methodFrame(b);
  if (!m || m.classId !== AMQP_BASIC) return undefined;
  if (m.methodId === AMQP_PUBLISH) {
    // reserved-1 short, exchange shortstr, routing-key shortstr
    const info: AmqpMessageInfo = { method: 'Basic.Publish', direction: 'produce' };
    const ex = shortstr(b, m.payloadStart + 2, m.end);
    if (ex) {
      info.exchange = ex[0];
      const rk = shortstr(b, ex[1], m.end);
      if (rk) info.routingKey = rk[0];
    }
    return info;
  }
  if (m.methodId === AMQP_DELIVER) {
    // consumer-tag shortstr, delivery-tag u64, redelivered bit, exchange, routing-key
    const info: AmqpMessageInfo = { method: 'Basic.Deliver', direction: 'consume' };
    const tag = shortstr(b, m.payloadStart, m.end);
    if (tag) {
      const ex = shortstr(b, tag[1] + 9, m.end);
      if (ex) {
        info.exchange = ex[0];
        const rk = shortstr(b, ex[1], m.end);
        if (rk) info.routingKey = rk[0];
      }
    }
    return info;
  }
  return undefined;
}

export const rabbitmqParser: L7Parser = {
  protocol: 'rabbitmq',
  detectRequest(b) {
    const m = methodFrame(b);
    return m !== undefined && m.classId === AMQP_BASIC && m.methodId === AMQP_PUBLISH;
  },
  /** Publish (written) or Deliver (read) → the message with its direction. */
  parseRequest: parseAmqpMessage,
  /** A Basic.Deliver frame → ok (the consume event). */
  parseResponse(b) {
    const m = methodFrame(b);
    return m && m.classId === AMQP_BASIC && m.methodId === AMQP_DELIVER ? { status: 'ok' } : undefined;
  },
};

/** One Basic.Publish a client wrote or Basic.Deliver it read, found by `AmqpStream`. */
export interface AmqpMessage { method: 'Basic.Publish' | 'Basic.Deliver'; direction: 'produce' | 'consume' }

const PROTOCOL_HEADER = [0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]; // "AMQP" 0 0 9 1
const FRAME_END = 0xce;
/** Frame header (7) plus class and method ids (4): what is needed to classify a frame. */
const HEAD = 11;

/**
 * One direction of an AMQP 0-9-1 client connection as a byte stream: the kernel ships every
 * syscall's bytes (capped), and a publish is three frames (method, content header, body) that
 * clients write together with other publishes in one writev. Walks frames by their size field,
 * skipping payloads even through bytes the kernel did not capture, so each Basic.Publish and
 * Basic.Deliver is counted once. A frame whose header falls in uncaptured bytes, or a missing
 * frame-end octet, loses the stream; it resynchronises at the next syscall (counted in `lostSync`).
 */
export class AmqpStream {
  /** Bytes of the current frame seen so far, up to HEAD. */
  private head: number[] = [];
  /** Bytes of the current frame after HEAD still to skip, including the frame-end octet. */
  private skip = 0;
  /** Whether the last skipped byte is the frame end and must be checked. */
  private checkEnd = false;
  /** Bytes of the protocol header a client sends first that are still expected (it may be split). */
  private headerAt = 0;
  private atStart = true;
  lostSync = 0;

  feed(data: Uint8Array, size = data.length): AmqpMessage[] {
    const out: AmqpMessage[] = [];
    let p = 0;
    let lost = false;
    // The protocol header, possibly split; frame types are 1-8, so its "A" cannot start a frame.
    while (this.atStart && p < data.length) {
      if (data[p] !== PROTOCOL_HEADER[this.headerAt]) { this.atStart = false; break; }
      p++;
      if (++this.headerAt === PROTOCOL_HEADER.length) this.atStart = false;
    }
    while (p < data.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length - p);
        this.skip -= n; p += n;
        if (this.skip === 0 && this.checkEnd && data[p - 1] !== FRAME_END) { lost = true; break; }
        continue;
      }
      this.head.push(data[p++]);
      if (this.head.length < 7) continue;
      const h = this.head;
      const type = h[0];
      const frameSize = ((h[3] << 24) >>> 0) + ((h[4] << 16) | (h[5] << 8) | h[6]);
      if (type !== 1 && type !== 2 && type !== 3 && type !== 8) { lost = true; break; }
      if (type === 1 && frameSize >= 4 && h.length < HEAD) continue; // wait for class and method
      if (type === 1 && frameSize >= 4) {
        const classId = (h[7] << 8) | h[8];
        const methodId = (h[9] << 8) | h[10];
        if (classId === AMQP_BASIC && methodId === AMQP_PUBLISH) out.push({ method: 'Basic.Publish', direction: 'produce' });
        else if (classId === AMQP_BASIC && methodId === AMQP_DELIVER) out.push({ method: 'Basic.Deliver', direction: 'consume' });
      }
      this.skip = frameSize + 1 - (h.length - 7);
      this.checkEnd = true;
      this.head = [];
    }
    const missing = size - data.length;
    if (!lost && missing > 0) {
      if (this.head.length === 0 && this.skip >= missing) {
        this.skip -= missing;
        if (this.skip === 0) this.checkEnd = false; // the frame end was among the uncaptured bytes
      } else lost = true;
    }
    // Out of step: drop the rest of this syscall and start again at the next one.
    if (lost) { this.lostSync++; this.resync(); }
    return out;
  }

  private resync(): void {
    this.head = [];
    this.skip = 0;
    this.checkEnd = false;
  }
}
