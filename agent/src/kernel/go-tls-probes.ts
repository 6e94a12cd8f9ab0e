// Where to put the Go crypto/tls probes of l7.bpf.c in a Go executable: the entry of
// (*Conn).Write, the entry of (*Conn).Read, and every RET of (*Conn).Read (return probes must not
// be uretprobes in Go: they rewrite the return address on a stack the runtime may move).
import { readElf, type ElfFile } from './elf-symbols.ts';

export const GO_TLS_WRITE = 'crypto/tls.(*Conn).Write';
export const GO_TLS_READ = 'crypto/tls.(*Conn).Read';

export const GO_TLS_PROGRAMS = ['rs_go_tls_write', 'rs_go_tls_read_enter', 'rs_go_tls_read_return'] as const;

export interface UprobePoint {
  program: (typeof GO_TLS_PROGRAMS)[number];
  /** File offset of the instruction to probe. */
  offset: number;
  /** For people: "crypto/tls.(*Conn).Read+0x1a3". */
  where: string;
}

/** Go release that built the binary ("go1.19.8"), from .go.buildinfo; undefined when not a Go
 * binary or too old to say it inline (before Go 1.18). */
export async function goVersion(elf: ElfFile): Promise<string | undefined> {
  const info = elf.section('.go.buildinfo');
  if (!info || info.size < 33) return undefined;
  const head = await elf.read(info.offset, Math.min(info.size, 64));
  if (head.toString('latin1', 0, 14) !== '\xff Go buildinf:') return undefined;
  if ((head[15]! & 2) === 0) return undefined; // versions before 1.18 point at the string instead
  const len = head[32]!; // a varint, but "go1.NN.N" is always shorter than 128
  if (len >= 128 || 33 + len > head.length) return undefined;
  return head.toString('latin1', 33, 33 + len);
}

/** True for Go releases with the register ABI the probes read arguments from (1.17 and later). */
export function hasRegisterAbi(version: string): boolean {
  const m = /^go(\d+)\.(\d+)/.exec(version);
  return !!m && (Number(m[1]) > 1 || Number(m[2]) >= 17);
}

/**
 * Offsets of the RET instructions of a Go function on amd64. x86 cannot be scanned for 0xC3 bytes
 * blindly (they occur inside other instructions, and a probe there would corrupt the program), so
 * only Go's epilogue is accepted: the frame pointer restored (MOVQ off(SP), BP: 48 8B 6C 24 ib or
 * 48 8B AC 24 id), the frame dropped (ADDQ $n, SP: 48 83 C4 ib or 48 81 C4 id), then RET (C3).
 */
export function goReturnOffsets(code: Buffer): number[] {
  const out: number[] = [];
  const at = (i: number, ...bytes: number[]) => i >= 0 && bytes.every((b, k) => code[i + k] === b);
  for (let i = code.indexOf(0xc3); i >= 0; i = code.indexOf(0xc3, i + 1)) {
    const add = at(i - 4, 0x48, 0x83, 0xc4) ? i - 4 : at(i - 7, 0x48, 0x81, 0xc4) ? i - 7 : -1;
    if (add < 0) continue;
    if (at(add - 5, 0x48, 0x8b, 0x6c, 0x24) || at(add - 8, 0x48, 0x8b, 0xac, 0x24)) out.push(i);
  }
  return out;
}

/** The probe points of a Go executable, returns first (an entry without its returns would leave
 * reads open in the map), or undefined when it is not one that the probes can read (not Go, Go
 * before 1.17, no crypto/tls, stripped symbols, or no recognisable RET). */
export function goTlsProbePoints(path: string): Promise<{ version: string; points: UprobePoint[] } | undefined> {
  return readElf(path, async (elf) => {
    const version = await goVersion(elf);
    if (!version || !hasRegisterAbi(version)) return undefined;
    const fns = await elf.functions([GO_TLS_WRITE, GO_TLS_READ]);
    const write = fns.get(GO_TLS_WRITE), read = fns.get(GO_TLS_READ);
    if (!write || !read || read.size === 0 || read.size > 1 << 20) return undefined;
    const rets = goReturnOffsets(await elf.read(read.fileOffset, read.size));
    if (rets.length === 0) return undefined;
    return {
      version,
      points: [
        ...rets.map((r) => ({ program: 'rs_go_tls_read_return' as const, offset: read.fileOffset + r, where: `${GO_TLS_READ}+0x${r.toString(16)}` })),
        { program: 'rs_go_tls_write' as const, offset: write.fileOffset, where: GO_TLS_WRITE },
        { program: 'rs_go_tls_read_enter' as const, offset: read.fileOffset, where: GO_TLS_READ },
      ],
    };
  });
}
