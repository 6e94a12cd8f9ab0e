#!/usr/bin/env node
// Runs the type check and then every *.test.ts under the workspaces' test/ folders
// and test/ with node's test runner. Pass path fragments to run a subset:
//   node scripts/run-tests.mjs remote-write e2e
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const roots = ['common/test', 'agent/test', 'server/test', 'ui/test', 'test'];

function walk(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const filters = process.argv.slice(2);
const files = [...new Set(roots.flatMap((r) => walk(join(root, r), [])))]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

if (filters.length === 0) {
  console.log('▶ typecheck (tsc --noEmit)');
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) { console.log('typecheck failed'); process.exit(1); }
}

console.log(`▶ ${files.length} test files`);
// Files run one at a time: e2e tests own network namespaces, cgroups and ports.
const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  cwd: root, stdio: 'inherit', env: { ...process.env, ROOTSIGHT_TEST: '1' },
});
process.exit(run.status ?? 1);
