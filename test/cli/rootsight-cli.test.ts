// The `rootsight` command as a user runs it: help, errors, and `up` serving the UI and API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '../../bin/rootsight.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, LISTEN: '' } });

test('--help for the command and each subcommand', () => {
  const top = run('--help');
  assert.equal(top.status, 0);
  assert.match(top.stdout, /rootsight up/);
  assert.match(top.stdout, /rootsight agent/);
  const agent = run('agent', '--help');
  assert.equal(agent.status, 0);
  for (const f of ['--listen', '--collector-endpoint', '--api-key', '--cgroupfs-root']) assert.ok(agent.stdout.includes(f), f);
  assert.match(agent.stdout, /default 127\.0\.0\.1:10300/);
  const server = run('server', '--help');
  assert.match(server.stdout, /--data-dir/);
  assert.match(server.stdout, /default 127\.0\.0\.1:8080/);
});

test('unknown commands and flags exit 2 with a message and usage', () => {
  const cmd = run('frobnicate');
  assert.equal(cmd.status, 2);
  assert.match(cmd.stderr, /unknown command "frobnicate"/);
  const flag = run('server', '--nope');
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /unknown flag --nope/);
  assert.match(flag.stderr, /Usage: rootsight server/);
  const listen = run('server', '--listen', 'nonsense');
  assert.equal(listen.status, 1);
  assert.match(listen.stderr, /nonsense/);
});

test('rootsight up serves the UI and the service map, and stops cleanly on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rootsight-up-'));
  const child = spawn(process.execPath, [bin, 'up', '--listen', '127.0.0.1:0', '--agent-listen', '127.0.0.1:0', '--otlp-grpc-listen', '127.0.0.1:0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no UI address printed:\n${out}`)), 60_000);
      child.stdout.on('data', () => {
        const m = /Open the UI: (http:\/\/\S+)/.exec(out);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
    });
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root">|<html/i);
    const map = await fetch(`${url}/api/service-map`);
    assert.equal(map.status, 200);
    assert.ok(Array.isArray(((await map.json()) as { applications: unknown[] }).applications));
  } finally {
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, out);
  }
});

test('--metrics-head-samples: listed in help, checked, and 0 turns the PromQL head off', async () => {
  const help = run('server', '--help');
  assert.match(help.stdout, /--metrics-head-samples [^\n]*\(default 4000000\) \[env METRICS_HEAD_SAMPLES\]/);
  const dir = mkdtempSync(join(tmpdir(), 'rootsight-head-flag-'));
  try {
    const bad = run('server', '--metrics-head-samples', 'lots', '--data-dir', dir);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--metrics-head-samples: invalid value "lots", expected a whole number of samples \(0 = off\)/);

    const child = spawn(process.execPath, [bin, 'server', '--listen', '127.0.0.1:0', '--otlp-grpc-listen', '', '--data-dir', dir,
      '--metrics-head-samples', '0', '--metrics-cache-samples', '1234'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no address printed:\n${out}`)), 60_000);
        child.stderr.on('data', () => {
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) { clearTimeout(timer); resolve(m[1]!); }
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
      });
      const text = await (await fetch(`${url}/metrics`)).text();
      // The server's own metrics show what the flags set: no head at all, the cache at its bound.
      assert.doesNotMatch(text, /rootsight_server_promql_head_/);
      assert.match(text, /^rootsight_server_promql_sample_cache_max_samples 1234$/m);
    } finally {
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      assert.equal(code, 0, out);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--l7-object: listed in help, an unreadable path exits 1, and the agent loads the object it names', async () => {
  assert.match(run('agent', '--help').stdout, /--l7-object [^\n]*\[env L7_OBJECT\]/);
  const missing = run('agent', '--l7-object', '/nonexistent/l7.bpf.o', '--listen', '127.0.0.1:0');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /--l7-object: cannot read "\/nonexistent\/l7\.bpf\.o": ENOENT/);

  // A file that is no BPF object: the agent names it in its complaint (so it did try to load
  // that file, not its default) and carries on with TCP tracing.
  const dir = mkdtempSync(join(tmpdir(), 'rootsight-l7-object-'));
  const bogus = join(dir, 'not-an-object.o');
  writeFileSync(bogus, 'not ELF\n');
  const child = spawn(process.execPath, [bin, 'agent', '--listen', '127.0.0.1:0', '--l7-object', bogus, '--disable-tls-tracing'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent did not start:\n${out}`)), 60_000);
      child.stderr.on('data', () => { if (/serving http:/.test(out)) { clearTimeout(timer); resolve(); } });
      child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
    });
    assert.ok(out.includes(`l7 tracer: kernel events disabled: cannot open BPF object ${bogus}`), out);
    assert.match(out, /is not a proper ELF object/);
    assert.doesNotMatch(out, /tcp tracer: kernel events disabled/);
  } finally {
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, out);
  }
});

test('a SIGTERM that comes while the agent is still starting shuts it down cleanly once started', async () => {
  // Sent at the agent's first line of output, well before it serves: the signal must wait for the
  // start to finish and then close everything (exit 0), not kill the process half-started.
  const child = spawn(process.execPath, [bin, 'agent', '--listen', '127.0.0.1:0', '--disable-l7-tracing'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let sent = false;
  const onData = (d: Buffer) => {
    out += d;
    if (!sent) { sent = true; child.kill('SIGTERM'); }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.ok(sent, 'the agent printed something while starting');
  assert.equal(code, 0, out);
  assert.match(out, /SIGTERM: shutting down/);
});

test('run as an executable, the server\'s malloc is on huge pages; run through node, it says how to get them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rootsight-hugepages-'));
  /** Starts `server`, waits until it listens, returns what it logged and its environment as the kernel has it. */
  const serve = async (command: string, args: string[]): Promise<{ log: string; environ: string[] }> => {
    const child = spawn(command, [...args, 'server', '--listen', '127.0.0.1:0', '--otlp-grpc-listen', '127.0.0.1:0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => { log += d; });
    child.stderr.on('data', (d) => { log += d; });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`never listened:\n${log}`)), 60_000);
        const check = () => { if (/listening on http/.test(log)) { clearTimeout(timer); resolve(); } };
        child.stdout.on('data', check);
        child.stderr.on('data', check);
        child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${log}`)));
      });
      // The env the process was started with: what glibc read its tunables from.
      const environ = readFileSync(`/proc/${child.pid}/environ`, 'latin1').split('\0');
      return { log, environ };
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  };
  try {
    const direct = await serve(bin, []);
    assert.ok(direct.environ.includes('GLIBC_TUNABLES=glibc.malloc.hugetlb=1'), direct.environ.filter((e) => e.startsWith('GLIBC')).join(' ') || 'no GLIBC_TUNABLES');
    assert.doesNotMatch(direct.log, /malloc without huge pages/);
    const viaNode = await serve(process.execPath, [bin]);
    assert.match(viaNode.log, /malloc without huge pages: run bin\/rootsight\.js itself/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
