// Command-line options of the benches: `--name value`, or the environment variable NAME
// (upper case, dashes as underscores) when the flag is not given.

export function option(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1]!;
  return process.env[name.toUpperCase().replaceAll('-', '_')] ?? def;
}

/** A whole number above zero, or exit 2 with a message naming the flag. */
export function positiveInt(name: string, def: number): number {
  const raw = option(name, String(def));
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`bench: --${name} must be a positive integer, got "${raw}"`);
    process.exit(2);
  }
  return n;
}
