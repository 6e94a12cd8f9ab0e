// Where to put the rustls probes of l7.bpf.c in a Rust executable: entry and return of
// <rustls::conn::Writer as std::io::Write>::write and <rustls::conn::Reader as std::io::Read>::read,
// the two functions every byte of plaintext passes through (rustls is linked into the executable).
// Rust's default (legacy) mangling names them `_ZN<len><$LT$rustls..conn..Writer$u20$as…$GT$>5write17h<hash>E`;
// the hash varies by build, so the names are found by their fixed part.
import { readElf, type ElfFunction } from './elf-symbols.ts';

export const RUSTLS_WRITE = '<rustls::conn::Writer as std::io::Write>::write';
export const RUSTLS_READ = '<rustls::conn::Reader as std::io::Read>::read';

/** The fixed part of each function's mangled name (`17h` starts the hash). */
const WRITE_MANGLED = '$LT$rustls..conn..Writer$u20$as$u20$std..io..Write$GT$5write17h';
const READ_MANGLED = '$LT$rustls..conn..Reader$u20$as$u20$std..io..Read$GT$4read17h';

export const RUSTLS_PROGRAMS = ['rs_rustls_enter', 'rs_rustls_write_exit', 'rs_rustls_read_exit'] as const;

export interface RustlsProbePoint {
  program: (typeof RUSTLS_PROGRAMS)[number];
  /** File offset of the function's first instruction. */
  offset: number;
  /** For people: the demangled function name. */
  where: string;
}

/**
 * The probe points of an executable with rustls in it, returns first (an entry without its return
 * would leave calls open in the map); undefined when it has none the probes can use (no rustls,
 * stripped symbols, only one of the two functions, or v0-mangled names).
 */
export function rustlsProbePoints(path: string): Promise<RustlsProbePoint[] | undefined> {
  return readElf(path, async (elf) => {
    // Several copies when several rustls versions are linked in: each is probed.
    const writes = distinctCode(await elf.functionsContaining(WRITE_MANGLED));
    const reads = distinctCode(await elf.functionsContaining(READ_MANGLED));
    if (writes.length === 0 || reads.length === 0) return undefined;
    return [
      ...writes.map((f) => ({ program: 'rs_rustls_write_exit' as const, offset: f.fileOffset, where: RUSTLS_WRITE })),
      ...reads.map((f) => ({ program: 'rs_rustls_read_exit' as const, offset: f.fileOffset, where: RUSTLS_READ })),
      ...writes.map((f) => ({ program: 'rs_rustls_enter' as const, offset: f.fileOffset, where: RUSTLS_WRITE })),
      ...reads.map((f) => ({ program: 'rs_rustls_enter' as const, offset: f.fileOffset, where: RUSTLS_READ })),
    ];
  });
}

/** One function per code address: a symbol listed twice (local and global aliases) is probed once. */
function distinctCode(fns: readonly ElfFunction[]): ElfFunction[] {
  const seen = new Set<number>();
  return fns.filter((f) => !seen.has(f.fileOffset) && seen.add(f.fileOffset));
}
