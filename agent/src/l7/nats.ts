// NATS client protocol: PUB/HPUB written → produce; MSG/HMSG read → consume. Status "ok".
import type { L7Parser, L7RequestInfo, L7ResponseInfo } from './l7-parser.ts';
import { PAYLOAD_CAP, ascii, endsWithCrlf, indexOfCrlf, startsWith, truncate } from './util.ts';

function verb(b: Uint8Array, v: string): boolean {
  return startsWith(b, v) && b.length > v.length && (b[v.length] === 0x20 || b[v.length] === 9);
}

function complete(b: Uint8Array): boolean {
  return b.length >= 7 && (endsWithCrlf(b) || (b.length >= PAYLOAD_CAP && indexOfCrlf(b, 0) > 0));
}

export interface NatsMessageInfo extends L7RequestInfo { subject?: string }

export function parseNatsMessage(b: Uint8Array): NatsMessageInfo | undefined {
  let v: string | undefined;
  for (const x of ['PUB', 'HPUB', 'MSG', 'HMSG']) if (verb(b, x)) { v = x; break; }
  if (!v) return undefined;
  const eol = indexOfCrlf(b, 0);
  const line = ascii(b, v.length + 1, eol < 0 ? Math.min(b.length, 1100) : eol);
  const subject = line.trim().split(/[ \t]+/)[0] ?? '';
  const info: NatsMessageInfo = {
    method: v, direction: v === 'PUB' || v === 'HPUB' ? 'produce' : 'consume',
    statement: truncate(`${v} ${subject}`, eol < 0), subject: truncate(subject),
  };
  return info;
}

export const natsParser: L7Parser = {
  protocol: 'nats',
  detectRequest: (b) => (verb(b, 'PUB') || verb(b, 'HPUB')) && complete(b),
  parseRequest: parseNatsMessage,
  parseResponse(b): L7ResponseInfo | undefined {
    // Responses are cut shorter than requests: a complete MSG line is enough.
    return (verb(b, 'MSG') || verb(b, 'HMSG')) && b.length >= 7 && indexOfCrlf(b, 0) > 0 ? { status: 'ok' } : undefined;
  },
};
