// A small flag parser: `--name value`, `--name=value`, booleans, and for every
// flag an environment variable of the same name upper-cased (--data-dir → DATA_DIR).
// Precedence: command line, then environment, then default.

export interface FlagSpec {
  name: string;
  help: string;
  default?: string;
  boolean?: boolean;
  /** Environment variable; defaults to the flag name upper-cased with - → _. */
  env?: string;
}

export class FlagError extends Error {}

export function envName(spec: FlagSpec): string {
  return spec.env ?? spec.name.toUpperCase().replace(/-/g, '_');
}

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: Record<string, string | undefined> = {};
  for (const s of specs) {
    const fromEnv = env[envName(s)];
    out[s.name] = fromEnv !== undefined && fromEnv !== '' ? fromEnv : s.default;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new FlagError(`unexpected argument "${arg}"`);
    const spec = byName.get(m[1]!);
    if (!spec) throw new FlagError(`unknown flag --${m[1]}`);
    if (spec.boolean) {
      out[spec.name] = m[2] ?? 'true';
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new FlagError(`flag --${spec.name} needs a value`);
    out[spec.name] = value;
  }
  return out;
}

export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => [`  --${s.name}${s.boolean ? '' : ' VALUE'}`, `${s.help}${s.default !== undefined ? ` (default ${s.default || '""'})` : ''} [env ${envName(s)}]`]);
  const width = Math.max(...rows.map((r) => r[0]!.length)) + 2;
  return rows.map(([a, b]) => a!.padEnd(width) + b).join('\n');
}

/** "15s", "500ms", "1m", or plain seconds. */
export function parseDurationMs(value: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new FlagError(`--${flag}: invalid duration "${value}", expected e.g. 15s, 500ms, 1m`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const ms = unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
  if (ms <= 0) throw new FlagError(`--${flag}: duration must be positive`);
  return ms;
}
