// Data must outlive the process's chDB session: close, reopen on the same directory, read back.
// Also pins down chDB's one-data-directory-per-process rule as startServer reports it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { push, removeDir, series, startTestServer, tempDataDir, vector } from './helpers.ts';

const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);

it('keeps data across a restart on the same data dir', async () => {
  const dataDir = tempDataDir();
  try {
    const first = await startTestServer({ dataDir });
    assert.equal((await push(first.url, [series('kept_total', { job: 'a' }, [[T0, 1], [T0 + 15_000, 4]])])).status, 204);
    await first.close();

    const second = await startTestServer({ dataDir });
    try {
      const v = await vector(second.url, 'kept_total', T0 + 20_000);
      assert.deepEqual([...v.values()], [4]);
      // The schema's CREATE IF NOT EXISTS ran again without touching the data; new pushes still work.
      assert.equal((await push(second.url, [series('kept_total', { job: 'a' }, [[T0 + 30_000, 9]])])).status, 204);
      assert.deepEqual([...(await vector(second.url, 'kept_total', T0 + 31_000)).values()], [9]);
    } finally {
      await second.close();
    }
  } finally {
    removeDir(dataDir);
  }
});

it('refuses a second server in the same process with a clear error, and works after the first closes', async () => {
  const a = await startTestServer();
  const dirB = tempDataDir();
  try {
    await assert.rejects(startTestServer({ dataDir: dirB }), /only one data directory per process/);
  } finally {
    await a.close();
    removeDir(a.dataDir);
  }
  const b = await startTestServer({ dataDir: dirB });
  assert.equal((await fetch(`${b.url}/health`)).status, 200);
  await b.close();
  removeDir(dirB);
});

it('releases chDB when listening fails', async () => {
  const a = await startTestServer();
  const port = new URL(a.url).port;
  const dirB = tempDataDir();
  try {
    await assert.rejects(startTestServer({ dataDir: dirB, listen: `127.0.0.1:${port}` }), /EADDRINUSE|only one data directory/);
  } finally {
    await a.close();
    removeDir(a.dataDir);
  }
  const b = await startTestServer({ dataDir: dirB });
  await b.close();
  removeDir(dirB);
});
