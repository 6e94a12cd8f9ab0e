import { createHash, randomInt } from 'node:crypto';

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A random id of [0-9a-z] (8 characters for projects, as Coroot's ids look). */
export function randomId(length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function ms(d: unknown): number {
  return d instanceof Date ? d.getTime() : new Date(String(d)).getTime();
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
