// Ingest keys are looked up once and then answered from memory, until keys or projects change
// (forget) or the entry expires; a lookup that was running while they changed does not store
// its answer. The HTTP behaviour (a deleted key refused by the next push) is in access-control.test.ts.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CachedIngestProjects } from '../src/auth/ingest-project.ts';
import type { ConfigDb } from '../src/storage/configdb/config-db.ts';

function fakeDb() {
  const keys = new Map([['k1', 'p1']]);
  const projects = new Map([['p1', { id: 'p1', name: 'one' }]]);
  let lookups = 0;
  let gate: Promise<void> = Promise.resolve();
  const db = {
    apiKeys: { projectOf: async (k: string) => { lookups++; const id = keys.get(k); await gate; return id; } },
    projects: { get: async (id: string) => projects.get(id), list: async () => [...projects.values()] },
  } as unknown as ConfigDb;
  return { db, keys, lookups: () => lookups, hold: () => { let open!: () => void; gate = new Promise((r) => { open = r; }); return () => { gate = Promise.resolve(); open(); }; } };
}

it('answers repeated keys from memory, and looks again after forget()', async () => {
  const f = fakeDb();
  const cache = new CachedIngestProjects(f.db);
  assert.deepEqual(await cache.resolve('k1'), { id: 'p1', name: 'one' });
  assert.deepEqual(await cache.resolve('k1'), { id: 'p1', name: 'one' });
  assert.equal(f.lookups(), 1);
  f.keys.delete('k1');
  assert.deepEqual(await cache.resolve('k1'), { id: 'p1', name: 'one' }, 'still cached: nobody said it changed');
  cache.forget();
  assert.equal(await cache.resolve('k1'), undefined, 'deleted key refused right after forget()');
});

it('a lookup running across forget() does not store its stale answer', async () => {
  const f = fakeDb();
  const cache = new CachedIngestProjects(f.db);
  const release = f.hold();
  const pending = cache.resolve('k1'); // reads the key, then waits
  await new Promise((r) => setImmediate(r));
  f.keys.delete('k1');
  cache.forget();
  release();
  assert.deepEqual(await pending, { id: 'p1', name: 'one' });
  assert.equal(await cache.resolve('k1'), undefined);
  assert.equal(f.lookups(), 2);
});

it('entries expire after the TTL (another replica may have deleted the key)', async () => {
  const f = fakeDb();
  const cache = new CachedIngestProjects(f.db, 0);
  await cache.resolve('k1');
  await cache.resolve('k1');
  assert.equal(f.lookups(), 2);
});
