// glibc malloc on transparent huge pages. chDB and V8's ArrayBuffers (decoded samples, the PromQL
// head) allocate with glibc's malloc, and ingest touches fresh memory fast; on a VM every page
// fault costs microseconds. With the tunable `glibc.malloc.hugetlb=1`, malloc asks the kernel for
// transparent huge pages (madvise), so memory comes in faults of 2 MiB instead of 4 KiB.
// Measured with bench/ingest-throughput.ts (2026-12-07, three paired runs, 4 shards): page faults
// per million samples ~24,000 -> ~14,000, remote write 0.75-1.08x Prometheus -> 1.16-1.32x.
// glibc reads tunables once, when a process starts: bin/rootsight.js sets it in its #! line, and
// benches that run the server in their own process start themselves again with it.
import { spawnSync } from 'node:child_process';

export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';

/** Whether this process was started with the tunable (GLIBC_TUNABLES is read at start only). */
export function mallocHugePages(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.GLIBC_TUNABLES ?? '').split(':').includes(HUGE_PAGES_TUNABLE);
}

/** `env` with the tunable added to whatever GLIBC_TUNABLES already holds. */
export function withMallocHugePages(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (mallocHugePages(env)) return env;
  return { ...env, GLIBC_TUNABLES: env.GLIBC_TUNABLES ? `${env.GLIBC_TUNABLES}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE };
}

/**
 * For a bench that runs the server in its own process: runs this same command again with the
 * tunable and returns its exit status, or undefined when this process already has it (or
 * MALLOC_HUGE_PAGES=0 asks for none) and should go on. Prints which malloc the bench runs with.
 */
export function rerunWithMallocHugePages(): number | undefined {
  if (!mallocHugePages() && process.env.MALLOC_HUGE_PAGES !== '0') {
    return spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { env: withMallocHugePages(process.env), stdio: 'inherit' }).status ?? 1;
  }
  console.log(`malloc: ${mallocHugePages() ? `huge pages (GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES})` : 'without huge pages (MALLOC_HUGE_PAGES=0)'}`);
  return undefined;
}
