// Database errors the callers can act on, with the driver's SQLSTATE translated away.

/** A unique value (name, email, open incident) already exists. */
export class ConflictError extends Error {}
/** A value broke a CHECK constraint, a type, or points at a row that does not exist. */
export class InvalidValueError extends Error {}

interface PgError { code?: unknown; constraint?: unknown; message?: unknown }

/** Runs a statement and turns constraint violations into ConflictError / InvalidValueError. */
export async function translated<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    const err = e as PgError;
    const code = typeof err.code === 'string' ? err.code : '';
    const constraint = typeof err.constraint === 'string' ? ` (${err.constraint})` : '';
    if (code === '23505') throw new ConflictError(`${what}: already exists${constraint}`);
    if (code === '23503') throw new InvalidValueError(`${what}: refers to something that does not exist${constraint}`);
    if (code === '23514' || code === '23502' || code.startsWith('22')) throw new InvalidValueError(`${what}: invalid value${constraint}`);
    throw e;
  }
}
