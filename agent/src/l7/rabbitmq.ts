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
