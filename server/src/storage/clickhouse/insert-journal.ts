// Metrics inserts acknowledged before chDB has them: each batch's RowBinary payloads are written
// to files in the data directory (the same durability as a chDB part: written, not fsynced, so it
// survives the process dying but not the machine), the sender is answered, and the insert runs
// behind. A file is removed once its insert has finished; whatever is left at start was
// acknowledged and is inserted before anything else happens (a batch inserted just before a
// crash may be inserted twice: series rows fold, and a sample stored twice for one time reads
// once). A batch is written as *.tmp files and renamed, so a half-written batch, never
// acknowledged, is never replayed.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ClickHouseSession } from './session.ts';

/** What the journal needs of chDB (a test can stand in for it). */
export type JournalStorage = Pick<ClickHouseSession, 'insertRowBinaryFile'>;

/** A table's rows for one batch; several payloads are written one after another (writev, no concatenation). */
export interface JournalPart { table: string; columns: readonly string[]; payload: Uint8Array | readonly Uint8Array[] }

interface JournalFile { table: string; columns: readonly string[]; path: string }

/** One journaled batch: its files not yet inserted. */
export interface JournalEntry { files: JournalFile[]; bytes: number }

const suffix = '.rowbinary';

/**
 * Inserts behind the acknowledgement run at a lower OS priority (nice 10; ClickHouse's
 * os_thread_priority): on a busy machine the event loop that decodes and acknowledges requests
 * should win the CPU, and the inserts catch up when it idles. They cannot fall behind without
 * bound: past MetricsStore's backlog cap new batches wait for them.
 */
export const behindInsertSettings = { os_thread_priority: 10 };
// <seq>-<part>-<table>-<column+column…>.rowbinary: everything a replay needs is in the name, and
// no character of it is special in a ClickHouse file() glob.
const name = /^(\d{12})-(\d+)-([A-Za-z0-9_]+)-([A-Za-z0-9_.+]+)\.rowbinary$/;

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
      await db.insertRowBinaryFile(m[3]!, m[4]!.split('+'), join(dir, f));
      await unlink(join(dir, f));
      replayed++;
    }
    if (replayed > 0) log(`storage: inserted ${replayed} acknowledged metrics file(s) left by the previous run`);
    return j;
  }

  /** Writes a batch's payloads; once this resolves the batch survives the process. */
  async append(parts: readonly JournalPart[]): Promise<JournalEntry> {
    const seq = String(++this.seq).padStart(12, '0');
    const files = parts.map((p, i) => ({ table: p.table, columns: p.columns, path: join(this.dir, `${seq}-${i}-${p.table}-${p.columns.join('+')}${suffix}`) }));
    await Promise.all(parts.map((p, i) => writePayload(`${files[i]!.path}.tmp`, p.payload)));
    for (const f of files) await rename(`${f.path}.tmp`, f.path);
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
        const key = `${f.table}-${f.columns.join('+')}`;
        let g = groups.get(key);
        if (!g) groups.set(key, g = []);
        g.push(f);
      }
    }
    const rank = (t: string) => { const i = tableOrder.indexOf(t); return i < 0 ? tableOrder.length : i; };
    for (const g of [...groups.values()].sort((a, b) => rank(a[0]!.table) - rank(b[0]!.table))) {
      const path = g.length === 1 ? g[0]!.path : join(this.dir, `{${g.map((f) => basename(f.path)).join(',')}}`);
      await this.db.insertRowBinaryFile(g[0]!.table, g[0]!.columns, path, behindInsertSettings);
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

async function writePayload(path: string, payload: Uint8Array | readonly Uint8Array[]): Promise<void> {
  if (payload instanceof Uint8Array) return writeFile(path, payload);
  const fh = await open(path, 'w');
  try {
    const total = payloadBytes(payload);
    const { bytesWritten } = await fh.writev(payload as Uint8Array[]);
    if (bytesWritten !== total) throw new Error(`short write to ${path}: ${bytesWritten} of ${total} bytes (disk full?)`);
  } finally {
    await fh.close();
  }
}
