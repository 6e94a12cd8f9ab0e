// Where to put the rustls probes of l7.bpf.c in a Rust executable (rustls is linked into it). Every
// byte of plaintext passes through:
//   - writes: rustls::conn::Writer, whose write and write_vectored (hyper over tokio-rustls writes
//     vectored) hand it on through a `dyn PlaintextSink` to ConnectionCommon's implementation. Those
//     are called through a vtable, so they exist as functions even where the compiler inlined
//     Writer's own methods into the program; they are probed when present, else Writer::write.
//   - reads: <rustls::conn::Reader as std::io::Read>::read.
// Each at entry and at return. Rust's default (legacy) mangling names them
// `_ZN<len>_$LT$rustls..conn..Reader$u20$as$u20$std..io..Read$GT$4read17h<hash>E`; the hash varies by
// build, so the names are found by their fixed part.
import { readElf, type ElfFile, type ElfFunction } from './elf-symbols.ts';

export const RUSTLS_SINK_WRITE = '<rustls::conn::ConnectionCommon<T> as rustls::conn::PlaintextSink>::write';
export const RUSTLS_SINK_WRITEV = '<rustls::conn::ConnectionCommon<T> as rustls::conn::PlaintextSink>::write_vectored';
export const RUSTLS_WRITE = '<rustls::conn::Writer as std::io::Write>::write';
export const RUSTLS_READ = '<rustls::conn::Reader as std::io::Read>::read';

/** The fixed part of each function's mangled name (`17h` starts the hash). */
const MANGLED: Record<string, string> = {
  [RUSTLS_SINK_WRITE]: '$u20$as$u20$rustls..conn..PlaintextSink$GT$5write17h',
  [RUSTLS_SINK_WRITEV]: '$u20$as$u20$rustls..conn..PlaintextSink$GT$14write_vectored17h',
  [RUSTLS_WRITE]: '$LT$rustls..conn..Writer$u20$as$u20$std..io..Write$GT$5write17h',
  [RUSTLS_READ]: '$LT$rustls..conn..Reader$u20$as$u20$std..io..Read$GT$4read17h',
};

export const RUSTLS_PROGRAMS = ['rs_rustls_enter', 'rs_rustls_write_exit', 'rs_rustls_writev_exit', 'rs_rustls_read_exit'] as const;

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
 * stripped symbols, no write or no read function, or v0-mangled names).
 */
export function rustlsProbePoints(path: string): Promise<RustlsProbePoint[] | undefined> {
  return readElf(path, async (elf) => {
    const reads = await functionsNamed(elf, RUSTLS_READ);
    const sinkWrites = await functionsNamed(elf, RUSTLS_SINK_WRITE);
    // Never both the sink and Writer::write: one write would be handed on twice.
    const writes = sinkWrites.length > 0 ? sinkWrites : await functionsNamed(elf, RUSTLS_WRITE);
    const writevs = sinkWrites.length > 0 ? await functionsNamed(elf, RUSTLS_SINK_WRITEV) : [];
    if (writes.length === 0 || reads.length === 0) return undefined;
    const returns: RustlsProbePoint[] = [
      ...writes.map((f) => ({ program: 'rs_rustls_write_exit' as const, offset: f.fileOffset, where: f.name })),
      ...writevs.map((f) => ({ program: 'rs_rustls_writev_exit' as const, offset: f.fileOffset, where: f.name })),
      ...reads.map((f) => ({ program: 'rs_rustls_read_exit' as const, offset: f.fileOffset, where: f.name })),
    ];
    return [...returns, ...returns.map((p) => ({ ...p, program: 'rs_rustls_enter' as const }))];
  });
}

/**
 * The copies of a function (one per generic instance, or per rustls version linked in), one per
 * code address (identical instances share one), in address order, named for people.
 */
async function functionsNamed(elf: ElfFile, name: string): Promise<ElfFunction[]> {
  const seen = new Set<number>();
  return (await elf.functionsContaining(MANGLED[name]!))
    .filter((f) => !seen.has(f.fileOffset) && seen.add(f.fileOffset))
    .sort((a, b) => a.fileOffset - b.fileOffset)
    .map((f) => ({ ...f, name }));
}
