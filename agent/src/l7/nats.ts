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

/** One PUB/HPUB a client wrote or MSG/HMSG it read, found by `NatsStream`. */
export interface NatsMessage { method: 'PUB' | 'HPUB' | 'MSG' | 'HMSG'; direction: 'produce' | 'consume'; subject: string }

const MAX_LINE = 4096;
const VERBS = ['PUB', 'HPUB', 'MSG', 'HMSG', 'SUB', 'UNSUB', 'CONNECT', 'INFO', 'PING', 'PONG', '+OK', '-ERR'];

/**
 * One direction of a NATS client connection as a byte stream: the kernel ships every syscall's
 * bytes (capped), and several commands often share one write or one read (nats.js coalesces its
 * writes; the server batches MSGs). Walks protocol lines and skips message payloads by their
 * declared size, even through bytes the kernel did not capture, so each PUB and MSG is counted
 * once. When a line itself falls in uncaptured bytes the stream resynchronises at the next
 * syscall (counted in `lostSync`).
 */
export class NatsStream {
  /** Payload bytes (plus CRLF) still to skip. */
  private skip = 0;
  /** A protocol line split across syscalls. */
  private line: number[] = [];
  lostSync = 0;

  /** Bytes of one syscall: the captured prefix and the syscall's full size. */
  feed(data: Uint8Array, size = data.length): NatsMessage[] {
    const out: NatsMessage[] = [];
    let p = 0;
    while (p < data.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length - p);
        this.skip -= n; p += n;
        continue;
      }
      // Lines end in CRLF; looking for the LF alone also finds a CR and LF split across syscalls.
      const lf = data.indexOf(10, p);
      if (lf < 0) {
        for (; p < data.length; p++) this.line.push(data[p]);
        if (this.line.length > MAX_LINE) this.resync();
        break;
      }
      const bytes = this.line.length ? Uint8Array.from([...this.line, ...data.subarray(p, lf)]) : data.subarray(p, lf);
      this.line = [];
      p = lf + 1;
      this.onLine(ascii(bytes, 0, bytes.length && bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length), out);
    }
    const missing = size - data.length;
    if (missing > 0) {
      if (this.line.length === 0 && this.skip >= missing) this.skip -= missing;
      else { this.lostSync++; this.resync(); }
    }
    return out;
  }

  private resync(): void {
    this.skip = 0;
    this.line = [];
  }

  private onLine(line: string, out: NatsMessage[]): void {
    const parts = line.split(/[ \t]+/).filter(Boolean);
    const verb = parts[0]?.toUpperCase() ?? '';
    if (!VERBS.includes(verb)) { if (line.length) this.lostSync++; return; }
    if (verb !== 'PUB' && verb !== 'HPUB' && verb !== 'MSG' && verb !== 'HMSG') return;
    // PUB subj [reply] size · HPUB subj [reply] hdr total · MSG subj sid [reply] size · HMSG subj sid [reply] hdr total
    const size = Number(parts[parts.length - 1]);
    const minArgs = verb === 'PUB' ? 3 : verb === 'MSG' || verb === 'HPUB' ? 4 : 5;
    if (parts.length < minArgs || parts.length > minArgs + 1 || !Number.isSafeInteger(size) || size < 0) { this.lostSync++; return; }
    this.skip = size + 2;
    out.push({ method: verb, direction: verb === 'PUB' || verb === 'HPUB' ? 'produce' : 'consume', subject: truncate(parts[1]!) });
  }
}
