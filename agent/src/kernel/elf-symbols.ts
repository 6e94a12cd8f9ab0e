// Just enough of ELF64 (little-endian) to place uprobes by hand: section names, and function
// symbols with the file offsets of their code. Reads only the headers, the symbol tables and the
// bytes asked for, never the whole file (Go binaries run to hundreds of MiB). Malformed files give
// an Error, never a crash or a read past the file.
import { open, type FileHandle } from 'node:fs/promises';

export interface ElfSection {
  name: string;
  type: number;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

export interface ElfFunction {
  name: string;
  /** Where the function's code starts in the file (what a uprobe is attached at). */
  fileOffset: number;
  size: number;
}

const SHT_SYMTAB = 2;
const SHT_NOBITS = 8;
const STT_FUNC = 2;
const MAX_SECTIONS = 4096;
/** Symbol tables are read whole; this bounds the memory a hostile file can make us take. */
const MAX_SYMTAB_BYTES = 256 * 1024 * 1024;

export class ElfFile {
  private constructor(private readonly fh: FileHandle, private readonly fileSize: number, readonly sections: ElfSection[]) {}

  /** Opens and reads the section table. Throws an Error saying what is wrong with the file. */
  static async open(path: string): Promise<ElfFile> {
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      const hdr = await readExact(fh, 0, 64, size);
      if (hdr.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
      if (hdr[4] !== 2 || hdr[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
      const shoff = Number(hdr.readBigUInt64LE(0x28));
      const shentsize = hdr.readUInt16LE(0x3a);
      const shnum = hdr.readUInt16LE(0x3c);
      const shstrndx = hdr.readUInt16LE(0x3e);
      if (shentsize < 64 || shnum === 0 || shnum > MAX_SECTIONS || shstrndx >= shnum) throw new Error('bad section header table');
      const table = await readExact(fh, shoff, shnum * shentsize, size);
      const raw = [...Array(shnum).keys()].map((i) => {
        const o = i * shentsize;
        return {
          nameOff: table.readUInt32LE(o), type: table.readUInt32LE(o + 4), addr: table.readBigUInt64LE(o + 16),
          offset: Number(table.readBigUInt64LE(o + 24)), size: Number(table.readBigUInt64LE(o + 32)),
          link: table.readUInt32LE(o + 40), entsize: Number(table.readBigUInt64LE(o + 56)),
        };
      });
      const strtab = raw[shstrndx]!;
      const names = await readExact(fh, strtab.offset, strtab.size, size);
      const sections = raw.map((s) => ({ name: cString(names, s.nameOff), type: s.type, addr: s.addr, offset: s.offset, size: s.size, link: s.link, entsize: s.entsize }));
      return new ElfFile(fh, size, sections);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** Function symbols with the given names from .symtab (absent names are left out). */
  async functions(names: readonly string[]): Promise<Map<string, ElfFunction>> {
    const found = new Map<string, ElfFunction>();
    const table = await this.symbolTable();
    if (!table) return found;
    const wantedBytes = [...new Set(names)].map((n) => [n, Buffer.from(n + '\0')] as const);
    this.eachFunction(table.syms, (nameOff) => {
      // Compare bytes in place: decoding every one of a Go binary's ~100k names would be slow.
      for (const [n, bytes] of wantedBytes) {
        if (nameOff + bytes.length <= table.strings.length && table.strings.compare(bytes, 0, bytes.length, nameOff, nameOff + bytes.length) === 0) return n;
      }
      return undefined;
    }, (f) => found.set(f.name, f));
    return found;
  }

  /**
   * Function symbols whose name contains `fragment` (for names with a part that varies, such as the
   * hash Rust appends to each mangled name). The string table is searched natively for the
   * fragment; only the names holding it are decoded.
   */
  async functionsContaining(fragment: string): Promise<ElfFunction[]> {
    const found: ElfFunction[] = [];
    const table = await this.symbolTable();
    if (!table || fragment.length === 0) return found;
    const needle = Buffer.from(fragment, 'latin1');
    const starts = new Set<number>();
    // Each hit belongs to the name starting after the NUL before it.
    for (let at = table.strings.indexOf(needle); at >= 0; at = table.strings.indexOf(needle, at + 1)) starts.add(table.strings.lastIndexOf(0, at) + 1);
    if (starts.size === 0) return found;
    this.eachFunction(table.syms, (nameOff) => (starts.has(nameOff) ? cString(table.strings, nameOff) : undefined), (f) => found.push(f));
    return found;
  }

  /** .symtab and its string table, read whole; undefined when the file has no symbol table (stripped). */
  private async symbolTable(): Promise<{ syms: Buffer; strings: Buffer } | undefined> {
    const symtab = this.sections.find((s) => s.type === SHT_SYMTAB);
    if (!symtab) return undefined;
    if (symtab.size > MAX_SYMTAB_BYTES || symtab.entsize !== 24 || symtab.link >= this.sections.length) throw new Error('bad symbol table');
    const strs = this.sections[symtab.link]!;
    if (strs.size > MAX_SYMTAB_BYTES) throw new Error('bad symbol string table');
    return { syms: await readExact(this.fh, symtab.offset, symtab.size, this.fileSize), strings: await readExact(this.fh, strs.offset, strs.size, this.fileSize) };
  }

  /** Calls `found` for each function symbol that `nameOf` names (by its string-table offset) and whose code lies in the file. */
  private eachFunction(syms: Buffer, nameOf: (nameOff: number) => string | undefined, found: (f: ElfFunction) => void): void {
    for (let o = 0; o + 24 <= syms.length; o += 24) {
      if ((syms[o + 4]! & 0xf) !== STT_FUNC) continue;
      const name = nameOf(syms.readUInt32LE(o));
      if (name === undefined) continue;
      const value = syms.readBigUInt64LE(o + 8);
      const size = Number(syms.readBigUInt64LE(o + 16));
      const shndx = syms.readUInt16LE(o + 6);
      const sec = this.sections[shndx];
      if (!sec || sec.type === SHT_NOBITS || value < sec.addr || value + BigInt(size) > sec.addr + BigInt(sec.size)) continue;
      found({ name, fileOffset: sec.offset + Number(value - sec.addr), size });
    }
  }

  /** size bytes of the file at offset (e.g. a function's code). */
  read(offset: number, size: number): Promise<Buffer> {
    return readExact(this.fh, offset, size, this.fileSize);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/**
 * Opens `path`, runs `read` on it and closes it again; undefined when the file cannot be opened or
 * read (not ELF, malformed, vanished): for callers that only want what a usable file offers.
 */
export async function readElf<T>(path: string, read: (elf: ElfFile) => Promise<T | undefined>): Promise<T | undefined> {
  let elf: ElfFile;
  try {
    elf = await ElfFile.open(path);
  } catch {
    return undefined;
  }
  try {
    return await read(elf);
  } catch {
    return undefined;
  } finally {
    await elf.close();
  }
}

async function readExact(fh: FileHandle, offset: number, size: number, fileSize: number): Promise<Buffer> {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0 || offset + size > fileSize) {
    throw new Error(`ELF structure points outside the file (offset ${offset}, size ${size}, file ${fileSize} bytes)`);
  }
  const buf = Buffer.alloc(size);
  const { bytesRead } = await fh.read(buf, 0, size, offset);
  if (bytesRead !== size) throw new Error('file is shorter than its headers say');
  return buf;
}

function cString(buf: Buffer, at: number): string {
  if (at >= buf.length) return '';
  const end = buf.indexOf(0, at);
  return buf.toString('latin1', at, end < 0 ? buf.length : end);
}
