// PostgreSQL from Debian as a test server: a private cluster (initdb as the postgres user) in a
// scratch directory, run in the foreground inside a stand-in container, listening on the
// container's address and on a Unix socket in the scratch directory (setup over the Unix socket
// is invisible to the L7 tracer, which only tracks INET sockets).
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StandInContainer } from './stand-in-containers.ts';
import { eventually } from './stand-in-containers.ts';

export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))) : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server under ${root}: install the Debian package "postgresql" (npm run setup -- --test)`);
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0]!, 'bin');
}

export interface RunningPostgres {
  bin: string;
  socketDir: string;
  /** What the server logged so far (every statement, parse and execute with its duration). */
  serverLog(): string;
  process: ChildProcess;
  /** Runs SQL over the Unix socket from the host (not traced) and returns psql's stdout. */
  admin(sql: string): string;
  /** Stops the server with a fast shutdown and waits for it to exit. */
  stop(): Promise<void>;
}

/** initdb + postgres in the container; the server logs every statement with its duration (log_min_duration_statement=0). */
export async function startPostgres(container: StandInContainer, dir: string): Promise<RunningPostgres> {
  const bin = postgresBinDir();
  const data = join(dir, 'pgdata');
  const socketDir = join(dir, 'pgsock');
  mkdirSync(socketDir, { recursive: true });
  chownSync(dir, uid('postgres'), gid('postgres'));
  chownSync(socketDir, uid('postgres'), gid('postgres'));
  execFileSync('runuser', ['-u', 'postgres', '--', join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], { stdio: 'pipe' });
  execFileSync('sh', ['-c', `echo "host all all 0.0.0.0/0 trust" >> ${data}/pg_hba.conf`]);
  const child = container.spawn('runuser', ['-u', 'postgres', '--', join(bin, 'postgres'), '-D', data,
    '-c', `listen_addresses=${container.ip}`, '-c', `unix_socket_directories=${socketDir}`, '-c', 'fsync=off',
    '-c', 'logging_collector=off', '-c', 'log_min_duration_statement=0', '-c', 'log_destination=stderr',
    '-c', 'max_connections=50', '-c', 'shared_buffers=16MB']);
  const log: Buffer[] = [];
  child.stderr?.on('data', (d: Buffer) => log.push(d));
  const admin = (sql: string) => execFileSync(join(bin, 'psql'), ['-X', '-q', '-At', '-h', socketDir, '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  await eventually(() => `postgres to accept connections; log: ${Buffer.concat(log).toString().slice(-2000)}`, () => {
    try { admin('SELECT 1'); return true; } catch { return undefined; }
  });
  return {
    bin, socketDir, process: child, admin, serverLog: () => Buffer.concat(log).toString(),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // runuser forwards SIGINT to postgres: a fast shutdown, so no shared memory is left behind.
      const exited = new Promise((r) => child.once('exit', r));
      const pid = readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0];
      try { process.kill(Number(pid), 'SIGINT'); } catch { /* already gone */ }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    },
  };
}

function uid(user: string): number { return Number(execFileSync('id', ['-u', user]).toString().trim()); }
function gid(user: string): number { return Number(execFileSync('id', ['-g', user]).toString().trim()); }
