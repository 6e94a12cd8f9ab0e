// MariaDB from Debian as a test server: a private data directory (mariadb-install-db), its own
// Unix socket and port, run in the foreground inside a stand-in container. The general query log
// records every command the server received (Query, Prepare, Execute, Close stmt, …): an
// independent count to hold the client's figures against. Setup goes over the Unix socket, which
// the L7 tracer does not track.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, type StandInContainer } from './stand-in-containers.ts';

export interface RunningMariadb {
  socket: string;
  port: number;
  /** Runs SQL over the Unix socket as root and returns the client's tab-separated stdout. */
  admin(sql: string): string;
  /** Commands in the general log since `from` (an offset into it), by command name. */
  commands(from: number): Record<string, number>;
  /** Current length of the general log, to read what comes after it. */
  logOffset(): number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startMariadb(container: StandInContainer, dir: string, port = 3306): Promise<RunningMariadb> {
  for (const bin of ['mariadbd', 'mariadb-install-db', 'mariadb']) {
    try { execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'pipe' }); } catch {
      throw new Error(`${bin} not found: install the Debian package "mariadb-server" (npm run setup -- --test)`);
    }
  }
  const data = join(dir, 'mariadb-data');
  const socket = join(dir, 'mariadb.sock');
  const generalLog = join(dir, 'mariadb-general.log');
  mkdirSync(data, { recursive: true });
  const mysql = Number(execFileSync('id', ['-u', 'mysql']).toString().trim());
  const mysqlGroup = Number(execFileSync('id', ['-g', 'mysql']).toString().trim());
  chownSync(dir, mysql, mysqlGroup);
  chownSync(data, mysql, mysqlGroup);
  execFileSync('mariadb-install-db', ['--no-defaults', '--user=mysql', `--datadir=${data}`, '--auth-root-authentication-method=normal',
    '--skip-test-db', '--skip-name-resolve'], { stdio: 'pipe' });
  const child = container.spawn('mariadbd', ['--no-defaults', '--user=mysql', `--datadir=${data}`, `--socket=${socket}`,
    `--port=${port}`, `--bind-address=${container.ip}`, '--skip-name-resolve', '--skip-log-bin', '--skip-ssl', `--pid-file=${join(dir, 'mariadb.pid')}`,
    '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M', '--innodb-flush-log-at-trx-commit=0', '--max-connections=50',
    '--general-log=1', `--general-log-file=${generalLog}`, `--log-error=${join(dir, 'mariadb-error.log')}`]);
  const admin = (sql: string) => execFileSync('mariadb', ['--no-defaults', `--socket=${socket}`, '-uroot', '-N', '-B', '-e', sql], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  await eventually(() => `mariadbd to accept connections; error log: ${tail(join(dir, 'mariadb-error.log'))}`, () => {
    try { admin('SELECT 1'); return true; } catch { return undefined; }
  }, 60_000);
  const logText = () => (existsSync(generalLog) ? readFileSync(generalLog, 'utf8') : '');
  return {
    socket, port, admin, process: child,
    logOffset: () => logText().length,
    commands: (from) => {
      const out: Record<string, number> = {};
      // Lines look like "<time?>\t   <id> <Command>\t<argument>"; continuation lines of
      // multi-line statements have no command column.
      for (const line of logText().slice(from).split('\n')) {
        const m = /^(?:\d{6}\s+[\d:]+)?\s+\d+ (Query|Prepare|Execute|Close stmt|Connect|Quit|Init DB|Field List|Reset stmt)\t/.exec(line);
        if (m) out[m[1]!] = (out[m[1]!] ?? 0) + 1;
      }
      return out;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      try { process.kill(Number(readFileSync(join(dir, 'mariadb.pid'), 'utf8').trim()), 'SIGTERM'); } catch { /* gone */ }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    },
  };
}

function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').slice(-2000) : '(none)';
}
