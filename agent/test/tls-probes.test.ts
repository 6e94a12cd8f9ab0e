// Where the TLS probes go: the ELF reader, Go's RET finder (checked against `go tool objdump` on a
// real Go binary), rustls' functions in a real Rust binary (checked against `nm`), hostile files
// that must give errors, never crashes or reads past the end, and the host's TLS libraries probed
// before any process maps them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ElfFile } from '../src/kernel/elf-symbols.ts';
import { GO_TLS_READ, GO_TLS_WRITE, goReturnOffsets, goTlsProbePoints, goVersion, hasRegisterAbi } from '../src/kernel/go-tls-probes.ts';
import { RUSTLS_READ, RUSTLS_SINK_WRITE, RUSTLS_SINK_WRITEV, rustlsProbePoints } from '../src/kernel/rustls-probes.ts';
import { TlsProbes } from '../src/kernel/tls-probes.ts';

const GO_BINARY = fileURLToPath(new URL('../../test/e2e/go-tls/build/go-tls', import.meta.url));
const RUST_BINARY = fileURLToPath(new URL('../../test/e2e/rustls-tls/build/release/rustls-tls', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rs-elf-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('goReturnOffsets', () => {
  test('accepts only RETs behind Go\'s epilogue', () => {
    const code = Buffer.from([
      0xb8, 0xc3, 0x00, 0x00, 0x00, //                    mov eax, 0xc3 (a C3 byte inside an instruction)
      0x48, 0x8b, 0x6c, 0x24, 0x60, 0x48, 0x83, 0xc4, 0x68, 0xc3, // MOVQ 0x60(SP), BP; ADDQ $0x68, SP; RET  -> 14
      0x48, 0x83, 0xc4, 0x68, 0xc3, //                    ADDQ without the BP restore: not accepted
      0x48, 0x8b, 0xac, 0x24, 0x00, 0x01, 0x00, 0x00, 0x48, 0x81, 0xc4, 0x08, 0x01, 0x00, 0x00, 0xc3, // disp32 forms -> 35
      0xc3, //                                            a bare C3
    ]);
    assert.deepEqual(goReturnOffsets(code), [14, 35]);
    assert.deepEqual(goReturnOffsets(Buffer.alloc(0)), []);
    assert.deepEqual(goReturnOffsets(Buffer.from([0xc3])), []);
  });

  test('register ABI from Go 1.17 on', () => {
    assert.deepEqual(['go1.16.15', 'go1.17', 'go1.19.8', 'go1.22.1', 'go2.0', 'devel'].map(hasRegisterAbi), [false, true, true, true, true, false]);
  });
});

describe('a real Go binary (test/e2e/go-tls, built by setup)', () => {
  test('version from .go.buildinfo equals the toolchain\'s', async () => {
    const elf = await ElfFile.open(GO_BINARY);
    try {
      const want = /go version (go\S+)/.exec(execFileSync('go', ['version']).toString())![1];
      assert.equal(await goVersion(elf), want);
    } finally {
      await elf.close();
    }
  });

  test('probe points: function entries and every RET of Read, as objdump sees them', async () => {
    const elf = await ElfFile.open(GO_BINARY);
    const text = elf.section('.text')!;
    await elf.close();
    const toFile = (addr: number) => text.offset + addr - Number(text.addr);
    const dump = execFileSync('go', ['tool', 'objdump', '-s', '^crypto/tls\\.\\(\\*Conn\\)\\.(Read|Write)$', GO_BINARY]).toString();
    const section = (name: string) => dump.split('TEXT ').find((s) => s.startsWith(`${name}(SB)`))!;
    const instrs = (name: string) => [...section(name).matchAll(/^\s+\S+\s+0x([0-9a-f]+)\s+([0-9a-f]+)\s+(\S+)/gm)].map((m) => ({ addr: parseInt(m[1]!, 16), op: m[3]! }));
    const read = instrs(GO_TLS_READ), write = instrs(GO_TLS_WRITE);
    const rets = read.filter((i) => i.op === 'RET').map((i) => toFile(i.addr));
    assert.ok(rets.length >= 2);

    const go = await goTlsProbePoints(GO_BINARY);
    assert.ok(go);
    const at = (program: string) => go.points.filter((p) => p.program === program).map((p) => p.offset);
    assert.deepEqual(at('rs_go_tls_write'), [toFile(write[0]!.addr)]);
    assert.deepEqual(at('rs_go_tls_read_enter'), [toFile(read[0]!.addr)]);
    assert.deepEqual(at('rs_go_tls_read_return'), rets, 'exactly the RET instructions, no other byte');
  });

  test('not a Go binary, or no crypto/tls: no probe points', async () => {
    assert.equal(await goTlsProbePoints(process.execPath), undefined);
    assert.equal(await goTlsProbePoints('/bin/sh'), undefined);
    assert.equal(await goTlsProbePoints(join(dir, 'missing')), undefined);
  });
});

describe('a real Rust binary with rustls (test/e2e/rustls-tls, built by setup)', () => {
  /** File offsets of the (mangled) functions nm lists whose names contain `fragment`, one per address, ascending. */
  const nmOffsets = async (fragment: string): Promise<number[]> => {
    const names = execFileSync('nm', [RUST_BINARY]).toString().split('\n').map((l) => l.split(' ')[2] ?? '').filter((n) => n.includes(fragment));
    const elf = await ElfFile.open(RUST_BINARY);
    try {
      const exact = await elf.functions(names);
      return [...new Set(names.map((n) => exact.get(n)!.fileOffset))].sort((a, b) => a - b);
    } finally {
      await elf.close();
    }
  };

  test('probe points: the PlaintextSink writes and Reader::read that nm lists, returns before entries', async () => {
    const writes = await nmOffsets('rustls..conn..PlaintextSink$GT$5write17h');
    const writevs = await nmOffsets('rustls..conn..PlaintextSink$GT$14write_vectored17h');
    const reads = await nmOffsets('rustls..conn..Reader$u20$as$u20$std..io..Read$GT$4read17h');
    // Client and server instances of the generic sink; one Reader::read.
    assert.deepEqual([writes.length, writevs.length, reads.length], [2, 2, 1]);
    const points = await rustlsProbePoints(RUST_BINARY);
    assert.ok(points);
    const returns = [
      ...writes.map((o) => ['rs_rustls_write_exit', o, RUSTLS_SINK_WRITE]),
      ...writevs.map((o) => ['rs_rustls_writev_exit', o, RUSTLS_SINK_WRITEV]),
      ...reads.map((o) => ['rs_rustls_read_exit', o, RUSTLS_READ]),
    ];
    assert.deepEqual(points.map((p) => [p.program, p.offset, p.where]), [...returns, ...returns.map(([, o, w]) => ['rs_rustls_enter', o, w])]);
  });

  test('functionsContaining: every name holding the fragment, nothing for an absent or empty one', async () => {
    const elf = await ElfFile.open(RUST_BINARY);
    try {
      const found = await elf.functionsContaining('rustls..conn..Reader$u20$as$u20$std..io..Read$GT$4read17h');
      assert.equal(found.length, 1);
      assert.match(found[0]!.name, /^_ZN\d+_\$LT\$rustls\.\.conn\.\.Reader.*4read17h[0-9a-f]{16}E/);
      assert.deepEqual(await elf.functionsContaining('no-such-name-anywhere'), []);
      assert.deepEqual(await elf.functionsContaining(''), []);
    } finally {
      await elf.close();
    }
  });

  test('no rustls (Node.js, a shell, a Go binary) or no file: no probe points', async () => {
    for (const p of [process.execPath, '/bin/sh', GO_BINARY, join(dir, 'missing')]) assert.equal(await rustlsProbePoints(p), undefined, p);
  });

  test('TlsProbes finds it as a process\'s executable and attaches returns before entries', async () => {
    const proc = mkdtempSync(join(tmpdir(), 'rootsight-fake-proc-'));
    try {
      mkdirSync(join(proc, '4242'));
      writeFileSync(join(proc, '4242', 'maps'), `55d0c0000000-55d0c0100000 r-xp 00000000 08:01 1234 ${RUST_BINARY}\n`);
      symlinkSync('/', join(proc, '4242', 'root'));
      const calls: string[] = [];
      const probes = new TlsProbes({ procRoot: proc, attach: (program, _path, symbol, offset) => { calls.push(`${program} ${symbol}${offset ?? ''}`); } });
      await probes.check([{ pid: 4242, exe: RUST_BINARY, startedAtMs: 1 }]);
      const points = (await rustlsProbePoints(RUST_BINARY))!;
      assert.deepEqual(calls, points.map((p) => `${p.program} ${p.offset}`));
      assert.deepEqual(probes.targets().map((t) => [t.kind, t.path, t.symbols]), [['rustls', RUST_BINARY, [RUSTLS_SINK_WRITE, RUSTLS_SINK_WRITEV, RUSTLS_READ]]]);
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });
});

describe('hostile files', () => {
  test('not ELF, truncated, 32-bit: a clear Error', async () => {
    const cases: Array<[string, Buffer]> = [
      ['empty', Buffer.alloc(0)],
      ['text', Buffer.from('#!/bin/sh\necho hi\n')],
      ['truncated header', readFileSync(GO_BINARY).subarray(0, 40)],
      ['32-bit', Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1]), Buffer.alloc(58)])],
      ['headers only', readFileSync(GO_BINARY).subarray(0, 4096)],
    ];
    for (const [name, bytes] of cases) {
      const p = join(dir, name.replace(/ /g, '-'));
      writeFileSync(p, bytes);
      await assert.rejects(ElfFile.open(p), Error, name);
      assert.equal(await goTlsProbePoints(p), undefined, name);
      assert.equal(await rustlsProbePoints(p), undefined, name);
    }
  });

  test('mutated headers and tables (2,000 files): errors or results, never a crash or a read past the end', async () => {
    const real = readFileSync(GO_BINARY);
    const elf = await ElfFile.open(GO_BINARY);
    const shoff = Number(real.readBigUInt64LE(0x28));
    const symtab = elf.sections.find((s) => s.name === '.symtab')!;
    await elf.close();
    // Keep the file small: the ELF header, the section table and a slice of the symbol table,
    // with offsets pointing where they did (the rest zero-filled by a sparse layout would be big).
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    let errors = 0, results = 0;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(real.subarray(0, 64));
      const table = Buffer.from(real.subarray(shoff, shoff + 64 * 40));
      const syms = Buffer.from(real.subarray(symtab.offset, symtab.offset + 24 * 64));
      const targets = [b, table, syms];
      for (let k = 0; k < 1 + rand(8); k++) {
        const t = targets[rand(3)]!;
        t[rand(t.length)] = rand(256);
      }
      const p = join(dir, 'mutated');
      writeFileSync(p, Buffer.concat([b, table, syms]));
      // Patch the header to where the pieces now are.
      const f = readFileSync(p);
      f.writeBigUInt64LE(64n, 0x28);
      writeFileSync(p, f);
      try {
        const e = await ElfFile.open(p);
        try {
          await e.functions([GO_TLS_READ, GO_TLS_WRITE]);
          await e.functionsContaining('runtime.');
          results++;
        } catch (err) {
          assert.ok(err instanceof Error);
          errors++;
        } finally {
          await e.close();
        }
      } catch (err) {
        assert.ok(err instanceof Error, String(err));
        errors++;
      }
      assert.equal(await goTlsProbePoints(p), undefined);
      assert.equal(await rustlsProbePoints(p), undefined);
    }
    assert.equal(errors + results, 2000);
  });
});

describe('TlsProbes.checkLibraryDirs', () => {
  test('probes each installed libssl and libgnutls once, by its real file name, and nothing else', async () => {
    const libDir = mkdtempSync(join(tmpdir(), 'rootsight-tls-libs-'));
    try {
      for (const name of ['libssl.so.3', 'libgnutls.so.30.34.3', 'libgnutls-openssl.so.27', 'libcrypto.so.3', 'libssl3.txt']) writeFileSync(join(libDir, name), 'not really a library');
      symlinkSync('libssl.so.3', join(libDir, 'libssl.so'));
      symlinkSync('libgnutls.so.30.34.3', join(libDir, 'libgnutls.so.30'));
      const calls: string[] = [];
      const probes = new TlsProbes({ attach: (program, path, symbol) => { calls.push(`${program} ${path.slice(libDir.length + 1)} ${symbol}`); } });
      await probes.checkLibraryDirs([libDir, join(libDir, 'absent')]);
      assert.deepEqual(calls.filter((c) => !c.startsWith('rs_ssl_exit')), [
        'rs_ssl_write_enter libgnutls.so.30.34.3 gnutls_record_send',
        'rs_ssl_read_enter libgnutls.so.30.34.3 gnutls_record_recv',
        'rs_ssl_write_enter libssl.so.3 SSL_write',
        'rs_ssl_read_enter libssl.so.3 SSL_read',
        'rs_ssl_write_ex_enter libssl.so.3 SSL_write_ex',
        'rs_ssl_read_ex_enter libssl.so.3 SSL_read_ex',
      ]);
      assert.equal(calls.filter((c) => c.startsWith('rs_ssl_exit')).length, 6, 'a return probe with every entry probe');
      assert.deepEqual(probes.targets().map((t) => [t.kind, t.path.slice(libDir.length + 1)]).sort(), [['gnutls', 'libgnutls.so.30.34.3'], ['libssl', 'libssl.so.3']]);
    } finally {
      rmSync(libDir, { recursive: true, force: true });
    }
  });
});
