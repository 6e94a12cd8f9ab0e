// Metrics inserts acknowledged before chDB has them: each batch's payloads (RowBinary or Native)
// are written to files in the data directory (the same durability as a chDB part: written, not
// fsynced, so it survives the process dying but not the machine), the sender is answered, and the
// insert runs behind. A file is removed once its insert has finished; whatever is left at start
// was acknowledged and is inserted before anything else happens (a batch inserted just before a
// crash may be inserted twice: series rows fold, and a sample stored twice for one time reads
// once). A batch is written as *.tmp files and renamed, so a half-written batch, never
// acknowledged, is never replayed.
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { BinaryFormat } from './driver.ts';
import type { ClickHouseSession } from './session.ts';

/** What the journal needs of chDB (a test can stand in for it). */
export type JournalStorage = Pick<ClickHouseSession, 'insertFile'>;

/**
 * A table's rows for one batch, in `format`; several payloads are written one after another into
 * one file, never concatenated in memory (RowBinary rows and Native blocks both append).
 */
export interface JournalPart { table: string; columns: readonly string[]; format: BinaryFormat; payload: Uint8Array | readonly Uint8Array[] }

interface JournalFile { table: string; columns: readonly string[]; format: BinaryFormat; path: string }

/** One journaled batch: its files not yet inserted. */
export interface JournalEntry { files: JournalFile[]; bytes: number }

/** File name ending per format, and back. */
const suffixes: Record<BinaryFormat, string> = { RowBinary: '.rowbinary', Native: '.native' };
const formatOf: Record<string, BinaryFormat> = { rowbinary: 'RowBinary', native: 'Native' };

/**
 * Inserts behind the acknowledgement run at a lower OS priority (nice 10; ClickHouse's
 * os_thread_priority): on a busy machine the event loop that decodes and acknowledges requests
 * should win the CPU, and the inserts catch up when it idles. They cannot fall behind without
 * bound: past MetricsStore's backlog cap new batches wait for them.
 */
export const behindInsertSettings = { os_thread_priority: 10 };
// <seq>-<part>-<table>-<column+column…>.<rowbinary|native>: everything a replay needs is in the
// name, and no character of it is special in a ClickHouse file() glob.
const name = /^(\d{12})-(\d+)-([A-Za-z0-9_]+)-([A-Za-z0-9_.+]+)\.(rowbinary|native)$/;

export class InsertJournal {
  private seq = 0;

  private constructor(private readonly dir: string, private readonly db: JournalStorage) {}

  /** Opens the journal directory and inserts what an earlier process acknowledged but had not inserted. */
  static async open(dir: string, db: JournalStorage, log: (msg: string) => void = () => undefined): Promise<InsertJournal> {
    mkdirSync(dir, { recursive: true });
    const j = new InsertJournal(dir, db);
    const left = readdirSync(dir).sort();
    let replayed = 0;
    for (const f of left) {
      const m = name.exec(f);
      if (!m) { rmSync(join(dir, f), { force: true }); continue; } // *.tmp: never acknowledged
      await db.insertFile(m[3]!, m[4]!.split('+'), join(dir, f), formatOf[m[5]!]!);
      await unlink(join(dir, f));
      replayed++;
    }
    if (replayed > 0) log(`storage: inserted ${replayed} acknowledged metrics file(s) left by the previous run`);
    return j;
  }

  /**
   * Writes a batch's payloads; once this resolves the batch survives the process. Written with
   * blocking calls: a batch is a few hundred KiB copied into the page cache, where asynchronous
   * calls would make four trips through libuv's thread pool per file (open, write, close, rename),
   * each waking a pool thread and then the event loop.
   */
  async append(parts: readonly JournalPart[]): Promise<JournalEntry> {
    const seq = String(++this.seq).padStart(12, '0');
    const files = parts.map((p, i) => ({ table: p.table, columns: p.columns, format: p.format, path: join(this.dir, `${seq}-${i}-${p.table}-${p.columns.join('+')}${suffixes[p.format]}`) }));
    parts.forEach((p, i) => writePayload(`${files[i]!.path}.tmp`, p.payload));
    for (const f of files) renameSync(`${f.path}.tmp`, f.path);
    return { files, bytes: parts.reduce((a, p) => a + payloadBytes(p.payload), 0) };
  }

  /**
   * Inserts journaled batches into chDB, one INSERT per table for all of them (a file() glob over
   * their files: every insert has a fixed cost), tables in `tableOrder`, and removes the files.
   * After a failure `entries` hold only the files not yet inserted, so a retry starts there.
   */
  async commit(entries: readonly JournalEntry[], tableOrder: readonly string[]): Promise<void> {
    const groups = new Map<string, JournalFile[]>();
    for (const e of entries) {
      for (const f of e.files) {
        const key = `${f.table}-${f.columns.join('+')}-${f.format}`;
        let g = groups.get(key);
        if (!g) groups.set(key, g = []);
        g.push(f);
      }
    }
    const rank = (t: string) => { const i = tableOrder.indexOf(t); return i < 0 ? tableOrder.length : i; };
    for (const g of [...groups.values()].sort((a, b) => rank(a[0]!.table) - rank(b[0]!.table))) {
      const path = g.length === 1 ? g[0]!.path : join(this.dir, `{${g.map((f) => basename(f.path)).join(',')}}`);
      await this.db.insertFile(g[0]!.table, g[0]!.columns, path, g[0]!.format, behindInsertSettings);
      const done = new Set(g);
      for (const e of entries) e.files = e.files.filter((f) => !done.has(f));
      await Promise.all(g.map((f) => unlink(f.path)));
    }
  }
}

export function payloadBytes(payload: Uint8Array | readonly Uint8Array[]): number {
  if (payload instanceof Uint8Array) return payload.length;
  let n = 0;
  for (const p of payload) n += p.length;
  return n;
}

function writePayload(path: string, payload: Uint8Array | readonly Uint8Array[]): void {
  const fd = openSync(path, 'w');
  try {
    for (const chunk of payload instanceof Uint8Array ? [payload] : payload) {
      // A write may take less than it was given (a signal, a full disk): go on from there.
      for (let done = 0; done < chunk.length;) {
        const n = writeSync(fd, chunk, done, chunk.length - done);
        if (n <= 0) throw new Error(`short write to ${path}: ${done} of ${chunk.length} bytes (disk full?)`);
        done += n;
      }
    }
  } finally {
    closeSync(fd);
  }
}
