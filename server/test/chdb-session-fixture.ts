// A chDB session on a fresh temporary data directory for the tests of one file (or one describe
// block): opened before them, closed and removed after them. chDB serves one data directory per
// process; node's test runner gives each test file its own process, so each file may hold one.
import { join } from 'node:path';
import { after, before } from 'node:test';
import { ClickHouseSession } from '../src/storage/clickhouse/session.ts';
import { removeDir, tempDataDir } from './helpers.ts';

/**
 * Registers the before/after hooks in the calling file or describe block. `opened` receives the
 * session and the temporary directory (the data directory is `dir/<subdir>` when a subdir is given).
 */
export function tempChdbSession(opened: (db: ClickHouseSession, dir: string) => void, subdir?: string): void {
  let db: ClickHouseSession | undefined;
  let dir: string | undefined;
  before(async () => {
    dir = tempDataDir();
    db = await ClickHouseSession.open(subdir === undefined ? dir : join(dir, subdir));
    opened(db, dir);
  });
  after(async () => {
    await db?.close();
    if (dir !== undefined) removeDir(dir);
  });
}
