// The kernel's L7 loss accounting by protocol (mirrors the end of agent/bpf/l7_events.h): two
// per-CPU u64 arrays, one counting requests that were never paired with a response (and why),
// one counting events the ring buffer could not take (by event kind). Decoded here into labelled
// counts; only non-zero cells are returned.
import { L7_EVENT_KIND_CODES, L7_PROTOCOL_CODES, type L7Direction, type L7KernelProtocol } from './l7-event-decoder.ts';

export const L7_UNANSWERED_MAP = 'rs_l7_unanswered';
export const L7_RINGBUF_LOST_MAP = 'rs_l7_ringbuf_lost';

/** enum rs_l7_unanswered_reason, in code order: index = code. */
export const L7_UNANSWERED_REASONS = ['connection_closed', 'fd_reused', 'stale_connection', 'pipelined', 'not_stored', 'process_exited', 'evicted'] as const;
export type L7UnansweredReason = (typeof L7_UNANSWERED_REASONS)[number];
export const L7_DIRECTION_SLOTS = 3;
export const L7_PROTOCOL_SLOTS = 16;
export const L7_EVENT_KIND_SLOTS = 8;

export type L7EventKind = keyof typeof L7_EVENT_KIND_CODES;

export interface L7UnansweredCount { protocol: L7KernelProtocol; direction: L7Direction | 'unknown'; reason: L7UnansweredReason; count: number }
export interface L7RingbufLostCount { kind: L7EventKind | 'unknown'; protocol: L7KernelProtocol; count: number }

const protocolByCode = new Map<number, L7KernelProtocol>(Object.entries(L7_PROTOCOL_CODES).map(([k, v]) => [v, k as L7KernelProtocol]));
const kindByCode = new Map<number, L7EventKind>(Object.entries(L7_EVENT_KIND_CODES).map(([k, v]) => [v, k as L7EventKind]));
const directionByCode: Array<L7Direction | 'unknown'> = ['unknown', 'outbound', 'inbound'];

/** Cells of rs_l7_unanswered: index (reason * 3 + direction) * 16 + protocol. */
export function decodeUnanswered(values: readonly number[]): L7UnansweredCount[] {
  const out: L7UnansweredCount[] = [];
  values.forEach((count, i) => {
    if (!count) return;
    const protocol = protocolByCode.get(i % L7_PROTOCOL_SLOTS) ?? 'unknown';
    const row = Math.floor(i / L7_PROTOCOL_SLOTS);
    const reason = L7_UNANSWERED_REASONS[Math.floor(row / L7_DIRECTION_SLOTS)];
    if (!reason) return;
    out.push({ protocol, direction: directionByCode[row % L7_DIRECTION_SLOTS]!, reason, count });
  });
  return out;
}

/** Cells of rs_l7_ringbuf_lost: index kind * 16 + protocol. */
export function decodeRingbufLost(values: readonly number[]): L7RingbufLostCount[] {
  const out: L7RingbufLostCount[] = [];
  values.forEach((count, i) => {
    if (!count) return;
    out.push({ kind: kindByCode.get(Math.floor(i / L7_PROTOCOL_SLOTS)) ?? 'unknown', protocol: protocolByCode.get(i % L7_PROTOCOL_SLOTS) ?? 'unknown', count });
  });
  return out;
}
