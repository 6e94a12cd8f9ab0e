// Validation of JSON bodies and route parameters for the management API, done once at the edge.
// Every refusal names the field, what was wrong and what is expected.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConflictError, InvalidValueError } from '../storage/configdb/errors.ts';

export class BadInputError extends Error {}
export class NotFoundError extends Error {}

/** Small bodies only: these routes carry names, passwords and settings. */
export const smallBodyLimit = 16 * 1024;
export const settingsBodyLimit = 64 * 1024;

export const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const settingKeyPattern = /^[a-z0-9][a-z0-9_.-]{0,99}$/;

type FieldSpec =
  | { type: 'string'; required?: boolean; pattern?: RegExp; patternHelp?: string; max?: number; min?: number }
  | { type: 'json'; required?: boolean };

/**
 * Reads a JSON object body with exactly the given fields (unknown fields are refused). Only
 * application/json is accepted: an HTML form from another site cannot send it without CORS.
 */
export function readObject<S extends Record<string, FieldSpec>>(req: FastifyRequest, spec: S, emptyBody: 'allowed' | 'refused' = 'refused'): { [K in keyof S]?: S[K] extends { type: 'string' } ? string : unknown } {
  let body = req.body;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (body === undefined && emptyBody === 'allowed') body = {};
  else if (type !== 'application/json') throw new BadInputError(`expected a JSON object body with Content-Type: application/json, got ${type ? `"${type}"` : 'no Content-Type'}`);
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) {
    throw new BadInputError('expected a JSON object body with Content-Type: application/json');
  }
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(k in spec)) throw new BadInputError(`unknown field "${k}"; expected ${Object.keys(spec).join(', ')}`);
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(spec)) {
    const v = o[k];
    if (v === undefined) {
      if (f.required) throw new BadInputError(`missing field "${k}"`);
      continue;
    }
    if (f.type === 'string') {
      if (typeof v !== 'string') throw new BadInputError(`field "${k}" must be a string, got ${v === null ? 'null' : typeof v}`);
      if (f.min !== undefined && v.length < f.min) throw new BadInputError(`field "${k}" must be at least ${f.min} characters`);
      if (f.max !== undefined && v.length > f.max) throw new BadInputError(`field "${k}" must be at most ${f.max} characters`);
      if (f.pattern && !f.pattern.test(v)) throw new BadInputError(`field "${k}" is not valid: ${f.patternHelp ?? `must match ${f.pattern}`}`);
    }
    out[k] = v;
  }
  return out as { [K in keyof S]?: S[K] extends { type: 'string' } ? string : unknown };
}

export const nameHelp = '1-63 letters, digits, "_", "." or "-", starting with a letter or digit';

/** Maps input, conflict and not-found errors to 400/409/404 with a JSON {error}. */
export async function answer<T>(reply: FastifyReply, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (e) {
    const code = e instanceof BadInputError || e instanceof InvalidValueError ? 400
      : e instanceof ConflictError ? 409
        : e instanceof NotFoundError ? 404 : 0;
    if (code === 0) throw e;
    await reply.code(code).send({ error: (e as Error).message });
    return undefined;
  }
}
