import type { EdgeStatus, ServiceEdge } from './api.ts';
import { compactNumber } from './format.ts';

/** What the arrow says: connection attempts and failures over the selected window. */
export function edgeLabelText(e: ServiceEdge): string {
  const parts = [`${compactNumber(e.connects)} conn`];
  if (e.failures > 0) parts.push(`${compactNumber(e.failures)} fail`);
  else if (e.retransmits > 0) parts.push(`${compactNumber(e.retransmits)} retr`);
  else parts.push('0 fail');
  return parts.join(' · ');
}

export const STATUS_COLOR: Record<EdgeStatus, string> = {
  ok: '#4d9f78',
  warning: '#d98a0b',
  critical: '#d93a3a',
};

/** Idle edges (no connects, nothing open) are grey so live traffic stands out. */
export const IDLE_COLOR = '#a3adbb';

export function edgeColor(e: ServiceEdge): string {
  if (e.status === 'ok' && e.connects === 0 && e.activeConnections === 0) return IDLE_COLOR;
  return STATUS_COLOR[e.status];
}

export const STATUS_TEXT: Record<EdgeStatus, string> = {
  ok: 'OK',
  warning: 'Retransmits',
  critical: 'Failing',
};
