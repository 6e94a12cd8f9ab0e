#!/usr/bin/env node
// Idempotent setup: installs what is missing and builds what is stale, then
// gets out of the way. `npm start` and `npm test` run it first; on a host that
// is already set up it finishes in about a second.
//
//   node scripts/setup.mjs          build and runtime dependencies
//   node scripts/setup.mjs --test   also the real servers and tools the tests drive
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const withTestDeps = process.argv.includes('--test') || process.env.npm_lifecycle_event === 'test';

// Debian packages: compiler chain for CO-RE BPF and the addon, plus what the tests run.
const buildPackages = ['clang', 'llvm', 'libbpf-dev', 'libelf-dev', 'zlib1g-dev', 'pkg-config', 'make', 'bpftool', 'g++', 'python3', 'iproute2'];
const testPackages = ['nginx-light', 'wrk', 'prometheus', 'chromium', 'fonts-liberation', 'curl', 'postgresql', 'redis-server', 'redis-tools', 'golang-go', 'nghttp2-client', 'mariadb-server', 'sysbench', 'memcached', 'dnsmasq-base', 'libmemcached-tools', 'bind9-dnsutils', 'rabbitmq-server', 'nats-server', 'wget', 'cargo', 'rustc', 'librust-rustls-dev', 'nftables'];

const t0 = Date.now();
const step = (msg) => console.log(`setup: ${msg}`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`setup: "${cmd} ${args.join(' ')}" failed with exit code ${r.status}`);
    process.exit(1);
  }
}

function missingPackages(pkgs) {
  return pkgs.filter((p) => {
    try {
      return !execFileSync('dpkg-query', ['-W', '-f=${Status}', p], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().includes('install ok installed');
    } catch {
      return true;
    }
  });
}

/** Newest mtime among files under the given paths (recursively, skipping build outputs). */
function newest(paths) {
  let t = 0;
  const visit = (p) => {
    if (!existsSync(p)) return;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) if (!['node_modules', 'build', 'dist'].includes(name)) visit(join(p, name));
    } else {
      t = Math.max(t, st.mtimeMs);
    }
  };
  for (const p of paths) visit(join(root, p));
  return t;
}

function outdated(output, inputs) {
  const out = join(root, output);
  return !existsSync(out) || statSync(out).mtimeMs < newest(inputs);
}

// 1. Debian packages
const wanted = withTestDeps ? [...buildPackages, ...testPackages] : buildPackages;
const missing = missingPackages(wanted);
if (missing.length > 0) {
  if (process.getuid?.() !== 0) {
    console.error(`setup: missing Debian packages: ${missing.join(' ')}\nsetup: run as root (or apt-get install them) and try again`);
    process.exit(1);
  }
  step(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

// 2. npm dependencies (the lockfile decides)
if (outdated('node_modules/.package-lock.json', ['package-lock.json'])) {
  step('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

// 3. kernel programs (CO-RE object, built against this kernel's BTF)
if (outdated('agent/bpf/build/tcp.bpf.o', ['agent/bpf']) || outdated('agent/bpf/build/l7.bpf.o', ['agent/bpf'])) {
  step('building BPF programs');
  run('make', ['-s', '-C', 'agent/bpf']);
}

// 4. the Node-API addon that loads them
const addon = 'agent/native/build/Release/rootsight_bpf.node';
if (outdated(addon, ['agent/native'])) {
  step('building the native addon');
  const nodeGyp = join(execFileSync('npm', ['root', '-g']).toString().trim(), 'npm/node_modules/node-gyp/bin/node-gyp.js');
  // Node's headers ship with the distro package; pointing node-gyp at them avoids a download.
  run(process.execPath, [nodeGyp, 'rebuild', '--nodedir=/usr', '--loglevel=warn'], { cwd: join(root, 'agent/native') });
}

// 5. the UI bundle
if (outdated('ui/dist/index.html', ['ui/src', 'ui/index.html', 'ui/vite.config.ts', 'ui/package.json', 'server/src/model'])) {
  step('building the UI');
  run('npm', ['run', '-s', 'build', '-w', 'ui']);
}

// 6. test programs: a Go HTTPS server/client (Go's own crypto/tls, for the TLS probes)
if (withTestDeps && outdated('test/e2e/go-tls/build/go-tls', ['test/e2e/go-tls'])) {
  step('building test/e2e/go-tls');
  // The standard library only: no module downloads. A private cache keeps $HOME clean.
  run('go', ['build', '-o', 'build/go-tls', '.'], { cwd: join(root, 'test/e2e/go-tls'), env: { ...process.env, GOCACHE: join(root, 'test/e2e/go-tls/build/cache'), GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' } });
}

// 7. a Rust HTTPS server and client on rustls (for the rustls probes), from Debian's packaged crates
if (withTestDeps && outdated('test/e2e/rustls-tls/build/release/rustls-tls', ['test/e2e/rustls-tls'])) {
  step('building test/e2e/rustls-tls');
  // Debian's compiler and crates (.cargo/config.toml points cargo at /usr/share/cargo/registry),
  // whatever other toolchain is on PATH; the target dir keeps $HOME clean.
  run('/usr/bin/cargo', ['build', '--release', '--offline', '--target-dir', 'build'], { cwd: join(root, 'test/e2e/rustls-tls'), env: { ...process.env, RUSTC: '/usr/bin/rustc', CARGO_HOME: join(root, 'test/e2e/rustls-tls/build/cargo-home') } });
}

step(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
