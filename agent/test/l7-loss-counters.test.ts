// Loss accounting ABI: the layout of rs_l7_unanswered / rs_l7_ringbuf_lost and the reason codes
// in l7_events.h, as compiled by C, must match agent/src/kernel/l7-loss-counters.ts; and decoding
// a counter array gives the labelled counts back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { L7_FLAG_UNANSWERED, L7_PROTOCOL_CODES, L7_EVENT_KIND_CODES } from '../src/kernel/l7-event-decoder.ts';
import {
  decodeRingbufLost,
  decodeUnanswered,
  L7_DIRECTION_SLOTS,
  L7_EVENT_KIND_SLOTS,
  L7_PROTOCOL_SLOTS,
  L7_UNANSWERED_REASONS,
} from '../src/kernel/l7-loss-counters.ts';

const bpfDir = fileURLToPath(new URL('../bpf/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rs-abi-loss-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const REASON_ENUM = ['RS_L7_UNANSWERED_CONN_CLOSED', 'RS_L7_UNANSWERED_FD_REUSED', 'RS_L7_UNANSWERED_STALE', 'RS_L7_UNANSWERED_PIPELINED', 'RS_L7_UNANSWERED_NOT_STORED'];

test('l7_events.h loss constants match the decoder', () => {
  const values: Record<string, string> = {
    directions: 'RS_L7_DIRECTIONS', protocolSlots: 'RS_L7_PROTOCOL_SLOTS', kindSlots: 'RS_L7_EVENT_KINDS',
    reasons: 'RS_L7_UNANSWERED_REASONS', flagUnanswered: 'RS_L7_F_UNANSWERED', protocolMax: 'RS_L7_CASSANDRA',
  };
  REASON_ENUM.forEach((e, i) => { values[`reason${i}`] = e; });
  writeFileSync(join(dir, 'loss.c'), `#include <linux/types.h>
#include <stdio.h>
#include "l7_events.h"
int main(void) {
  printf("{\\"_\\":0");
${Object.entries(values).map(([k, v]) => `  printf(",\\"${k}\\":%llu", (unsigned long long)(${v}));`).join('\n')}
  printf("}\\n");
  return 0;
}
`);
  execFileSync('gcc', ['-Wall', '-Werror', '-I', bpfDir, '-o', join(dir, 'loss'), join(dir, 'loss.c')]);
  const c = JSON.parse(execFileSync(join(dir, 'loss')).toString()) as Record<string, number>;
  assert.equal(c.directions, L7_DIRECTION_SLOTS);
  assert.equal(c.protocolSlots, L7_PROTOCOL_SLOTS);
  assert.equal(c.kindSlots, L7_EVENT_KIND_SLOTS);
  assert.equal(c.reasons, L7_UNANSWERED_REASONS.length);
  assert.equal(c.flagUnanswered, L7_FLAG_UNANSWERED);
  REASON_ENUM.forEach((_, i) => assert.equal(c[`reason${i}`], i));
  assert.ok(c.protocolMax! < L7_PROTOCOL_SLOTS, 'every protocol code fits a slot');
  assert.ok(Math.max(...Object.values(L7_EVENT_KIND_CODES)) < L7_EVENT_KIND_SLOTS, 'every event kind fits a slot');
});

test('decodeUnanswered reads (reason * 3 + direction) * 16 + protocol cells, non-zero only', () => {
  const cells = new Array<number>(L7_UNANSWERED_REASONS.length * L7_DIRECTION_SLOTS * L7_PROTOCOL_SLOTS).fill(0);
  const at = (reason: number, direction: number, protocol: number) => (reason * L7_DIRECTION_SLOTS + direction) * L7_PROTOCOL_SLOTS + protocol;
  cells[at(0, 1, L7_PROTOCOL_CODES.http)] = 7;
  cells[at(3, 1, L7_PROTOCOL_CODES.memcached)] = 8;
  cells[at(2, 2, L7_PROTOCOL_CODES.redis)] = 1;
  cells[at(4, 0, 15)] = 2; // a protocol code this agent does not know
  assert.deepEqual(decodeUnanswered(cells), [
    { protocol: 'http', direction: 'outbound', reason: 'connection_closed', count: 7 },
    { protocol: 'redis', direction: 'inbound', reason: 'stale_connection', count: 1 },
    { protocol: 'memcached', direction: 'outbound', reason: 'pipelined', count: 8 },
    { protocol: 'unknown', direction: 'unknown', reason: 'not_stored', count: 2 },
  ]);
  assert.deepEqual(decodeUnanswered([]), []);
  assert.deepEqual(decodeUnanswered(new Array(cells.length + 16).fill(1)).length, cells.length, 'cells past the last reason are ignored');
});

test('decodeRingbufLost reads kind * 16 + protocol cells', () => {
  const cells = new Array<number>(L7_EVENT_KIND_SLOTS * L7_PROTOCOL_SLOTS).fill(0);
  cells[L7_EVENT_KIND_CODES.request * L7_PROTOCOL_SLOTS + L7_PROTOCOL_CODES.postgres] = 3;
  cells[L7_EVENT_KIND_CODES.conn_close * L7_PROTOCOL_SLOTS + L7_PROTOCOL_CODES.unknown] = 4;
  cells[7 * L7_PROTOCOL_SLOTS + L7_PROTOCOL_CODES.http] = 1;
  assert.deepEqual(decodeRingbufLost(cells), [
    { kind: 'request', protocol: 'postgres', count: 3 },
    { kind: 'conn_close', protocol: 'unknown', count: 4 },
    { kind: 'unknown', protocol: 'http', count: 1 },
  ]);
});
