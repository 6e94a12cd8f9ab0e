// Waiting for a line on a child process's stdout, for test servers that announce readiness.
import type { ChildProcess } from 'node:child_process';

/** Resolves with the first line of stdout (or stderr, for daemons that log there) matching re;
 * rejects if the process exits first or the time runs out. */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs: number, what: string, stream: 'stdout' | 'stderr' = 'stdout'): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const watched = stream === 'stdout' ? child.stdout : child.stderr;
    const finish = (f: () => void) => { clearTimeout(timer); watched?.off('data', onOut); child.off('exit', onExit); f(); };
    const onOut = (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => re.test(l));
      if (line !== undefined) finish(() => resolve(line));
    };
    const onExit = (code: number | null) => finish(() => reject(new Error(`${what}: process exited (${code}) first; ${stream}: ${out.slice(-2000)} other output: ${err.slice(-2000)}`)));
    const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${what}; ${stream}: ${out.slice(-2000)} other output: ${err.slice(-2000)}`))), timeoutMs);
    watched?.on('data', onOut);
    (stream === 'stdout' ? child.stderr : child.stdout)?.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', onExit);
  });
}
