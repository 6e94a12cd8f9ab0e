// One suite, two drivers: PGlite (in-process) and a real PostgreSQL 15 started by this test from
// the Debian package. Both must give the same answers to the same calls.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { ConfigDb } from '../src/storage/configdb/config-db.ts';
import { ConflictError, InvalidValueError } from '../src/storage/configdb/errors.ts';
import { NewerSchemaError, migrate, migrations } from '../src/storage/configdb/migrations.ts';
import { openPgliteDriver } from '../src/storage/configdb/pglite-driver.ts';
import { openPostgresDriver } from '../src/storage/configdb/postgres-driver.ts';
import type { SqlDriver } from '../src/storage/configdb/sql.ts';

const pgBin = '/usr/lib/postgresql/15/bin';
const hash = 'scrypt$16384$8$1$c2FsdA$aGFzaA'; // shape only; these tests never check a password

interface Factory {
  /** A driver on an empty database. */
  fresh(): Promise<SqlDriver>;
  /** n drivers on one new empty database, as n replicas starting together would have. */
  freshMany(n: number): Promise<SqlDriver[]>;
}

function configDbSuite(name: string, factory: () => Factory): void {
  describe(`configdb on ${name}`, () => {
    let driver: SqlDriver;
    let db: ConfigDb;
    before(async () => {
      driver = await factory().fresh();
      db = new ConfigDb(driver);
    });
    after(async () => { await driver?.close(); });

    test('migrations apply once; a second run is a no-op', async () => {
      assert.deepEqual(await migrate(driver), migrations.map((m) => m.version));
      assert.deepEqual(await migrate(driver), []);
      const rows = await driver.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows.map((r) => r.version), migrations.map((m) => m.version));
      const roles = await db.roles.list();
      assert.deepEqual(roles.map((r) => r.name), ['viewer', 'editor', 'admin']);
    });

    test('a database from a newer release is refused, not downgraded', async () => {
      const future = [...migrations, { version: 999, name: 'future', sql: 'CREATE TABLE future_table (x int)' }];
      assert.deepEqual(await migrate(driver, future), [999]);
      await assert.rejects(migrate(driver), NewerSchemaError);
      await driver.exec('DROP TABLE future_table; DELETE FROM schema_migrations WHERE version = 999');
      assert.deepEqual(await migrate(driver), []);
    });

    test('a failing migration leaves nothing behind', async () => {
      const broken = [...migrations, { version: 998, name: 'broken', sql: 'CREATE TABLE half_done (x int); SELECT no_such_function()' }];
      await assert.rejects(migrate(driver, broken));
      const t = await driver.query(`SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'`);
      assert.equal(t.length, 0);
      assert.deepEqual(await migrate(driver), []);
    });

    test('projects: create, list, rename, delete; names unique and well-formed', async () => {
      const p = await db.projects.create('alpha');
      assert.match(p.id, /^[0-9a-z]{8}$/);
      assert.equal((await db.projects.get(p.id))?.name, 'alpha');
      await assert.rejects(db.projects.create('alpha'), ConflictError);
      await assert.rejects(db.projects.create("x'; DROP TABLE projects; --"), InvalidValueError);
      await assert.rejects(db.projects.create(''), InvalidValueError);
      assert.ok((await db.projects.list()).some((x) => x.id === p.id));
      assert.equal((await db.projects.rename(p.id, 'alpha2'))?.name, 'alpha2');
      assert.equal(await db.projects.rename('nope0000', 'x'), undefined);
      assert.equal(await db.projects.delete(p.id), true);
      assert.equal(await db.projects.delete(p.id), false);
      assert.equal(await db.projects.get(p.id), undefined);
      // the table is still there after the injection attempt
      assert.ok(await db.projects.count() >= 0);
    });

    test('createIfNone creates the first project only', async () => {
      const before = await db.projects.count();
      const made = await db.projects.createIfNone('first');
      if (before === 0) assert.equal(made?.name, 'first');
      else assert.equal(made, undefined);
      assert.equal(await db.projects.createIfNone('second'), undefined);
    });

    test('api keys: the key is returned once, stored hashed, resolved to its project', async () => {
      const p = await db.projects.create('keys');
      const k = await db.apiKeys.create(p.id, 'agent on web-1');
      assert.match(k.key, /^rs_[A-Za-z0-9_-]{43}$/);
      assert.equal(k.prefix, k.key.slice(0, 8));
      assert.equal(await db.apiKeys.projectOf(k.key), p.id);
      assert.equal(await db.apiKeys.projectOf(k.key + 'x'), undefined);
      assert.equal(await db.apiKeys.projectOf(''), undefined);
      const listed = await db.apiKeys.list(p.id);
      assert.deepEqual(listed.map((x) => x.id), [k.id]);
      assert.equal('key' in listed[0]!, false);
      const raw = await driver.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id = $1', [k.id]);
      assert.notEqual(raw[0]!.key_hash, k.key);
      assert.ok(!JSON.stringify(await driver.query('SELECT * FROM api_keys')).includes(k.key));
      await assert.rejects(db.apiKeys.create('nope0000', ''), InvalidValueError);
      await assert.rejects(db.apiKeys.create(p.id, 'x'.repeat(201)), InvalidValueError);
      assert.equal(await db.apiKeys.delete('other000', k.id), false, 'a key is deleted only through its own project');
      assert.equal(await db.apiKeys.delete(p.id, k.id), true);
      assert.equal(await db.apiKeys.projectOf(k.key), undefined);
      const k2 = await db.apiKeys.create(p.id, '');
      await db.projects.delete(p.id);
      assert.equal(await db.apiKeys.projectOf(k2.key), undefined, 'keys go with their project');
    });

    test('users: unique email and name (any case), known roles only, last admin protected', async () => {
      const a = await db.users.create({ email: 'Ann@example.com', name: 'ann', passwordHash: hash, role: 'admin' });
      await assert.rejects(db.users.create({ email: 'ann@EXAMPLE.com', name: 'ann2', passwordHash: hash, role: 'viewer' }), ConflictError);
      await assert.rejects(db.users.create({ email: 'b@example.com', name: 'ANN', passwordHash: hash, role: 'viewer' }), ConflictError);
      await assert.rejects(db.users.create({ email: 'c@example.com', name: 'c', passwordHash: hash, role: 'root' as 'admin' }), InvalidValueError);
      await assert.rejects(db.users.create({ email: 'not-an-email', name: 'd', passwordHash: hash, role: 'viewer' }), InvalidValueError);
      await assert.rejects(db.users.create({ email: 'e@example.com', name: 'e', passwordHash: 'plaintext', role: 'viewer' }), InvalidValueError);
      assert.equal((await db.users.findForLogin('ANN@example.com'))?.id, a.id);
      assert.equal((await db.users.findForLogin('Ann'))?.id, a.id);
      assert.equal(await db.users.findForLogin("' OR '1'='1"), undefined);
      assert.equal('passwordHash' in (await db.users.get(a.id))!, false);

      // Other admins may exist from earlier tests; demote them so ann is the only one.
      for (const u of await db.users.list()) if (u.role === 'admin' && u.id !== a.id) await db.users.update(u.id, { role: 'viewer' });
      assert.equal(await db.users.update(a.id, { role: 'viewer' }), 'last-admin');
      assert.equal(await db.users.delete(a.id), 'last-admin');
      const b = await db.users.create({ email: 'bob@example.com', name: 'bob', passwordHash: hash, role: 'viewer' });
      const bob = await db.users.update(b.id, { role: 'admin', name: 'bobby' });
      assert.ok(bob && bob !== 'last-admin');
      assert.equal(bob.role, 'admin');
      assert.equal(bob.email, 'bob@example.com', 'fields not given stay');
      const ann = await db.users.update(a.id, { role: 'editor' });
      assert.ok(ann && ann !== 'last-admin' && ann.role === 'editor');
      assert.equal(await db.users.update('nouser000000', { name: 'x' }), undefined);
      assert.equal(await db.users.delete(a.id), true);
      assert.equal(await db.users.get(a.id), undefined);
    });

    test('sessions: live, expired, deleted, and gone with their user', async () => {
      const u = await db.users.create({ email: 's@example.com', name: 'sess', passwordHash: hash, role: 'viewer' });
      const t = await db.sessions.create(u.id, 60_000);
      assert.equal((await db.sessions.user(t))?.id, u.id);
      assert.equal(await db.sessions.user(t.slice(1)), undefined);
      assert.equal(await db.sessions.user(''), undefined);
      const expired = await db.sessions.create(u.id, -1);
      assert.equal(await db.sessions.user(expired), undefined);
      assert.ok(await db.sessions.deleteExpired() >= 1);
      await db.sessions.delete(t);
      assert.equal(await db.sessions.user(t), undefined);
      const t2 = await db.sessions.create(u.id, 60_000);
      const t3 = await db.sessions.create(u.id, 60_000);
      await db.sessions.deleteForUser(u.id, t3);
      assert.equal(await db.sessions.user(t2), undefined);
      assert.equal((await db.sessions.user(t3))?.id, u.id);
      await db.users.delete(u.id);
      assert.equal(await db.sessions.user(t3), undefined);
      const tokens = await driver.query<{ token_hash: string }>('SELECT token_hash FROM sessions');
      assert.ok(tokens.every((r) => r.token_hash !== t3));
    });

    test('settings: JSON values per project and per server; keys are validated', async () => {
      const p = await db.projects.create('settings');
      await db.settings.put(p.id, 'ui.theme', 'dark');
      await db.settings.put(p.id, 'limits', { a: [1, 2, { b: null }], c: true });
      await db.settings.put(p.id, 'ui.theme', 'light');
      assert.deepEqual(await db.settings.all(p.id), { limits: { a: [1, 2, { b: null }], c: true }, 'ui.theme': 'light' });
      assert.equal(await db.settings.get(p.id, 'missing'), undefined);
      await assert.rejects(db.settings.put(p.id, "k'; DELETE FROM settings; --", 1), InvalidValueError);
      await assert.rejects(db.settings.put('nope0000', 'k', 1), InvalidValueError);
      assert.equal(await db.settings.delete(p.id, 'limits'), true);
      assert.deepEqual(Object.keys(await db.settings.all(p.id)), ['ui.theme']);
      await db.settings.serverPut('auth.anonymous_role', 'none');
      assert.equal(await db.settings.serverGet('auth.anonymous_role'), 'none');
      assert.deepEqual(await db.settings.serverAll(), { 'auth.anonymous_role': 'none' });
      assert.equal(await db.settings.serverDelete('auth.anonymous_role'), true);
      await db.projects.delete(p.id);
      assert.deepEqual(await db.settings.all(p.id), {});
    });

    test('SLO overrides: upsert per application, objectives in range', async () => {
      const p = await db.projects.create('slo');
      const o = await db.sloOverrides.put({ projectId: p.id, applicationId: '/k8s/default/Deployment/web', availabilityObjectivePercent: 99.9, latencyObjectivePercent: null, latencyThresholdMs: 250 });
      assert.equal(o.availabilityObjectivePercent, 99.9);
      await db.sloOverrides.put({ ...o, availabilityObjectivePercent: 99 });
      assert.equal((await db.sloOverrides.get(p.id, o.applicationId))?.availabilityObjectivePercent, 99);
      assert.equal((await db.sloOverrides.list(p.id)).length, 1);
      await assert.rejects(db.sloOverrides.put({ ...o, availabilityObjectivePercent: 101 }), InvalidValueError);
      await assert.rejects(db.sloOverrides.put({ ...o, latencyThresholdMs: -1 }), InvalidValueError);
      await assert.rejects(db.sloOverrides.put({ ...o, applicationId: '' }), InvalidValueError);
      assert.equal(await db.sloOverrides.delete(p.id, o.applicationId), true);
      assert.equal(await db.sloOverrides.get(p.id, o.applicationId), undefined);
    });

    test('incidents: one open per application, update, resolve, list by window', async () => {
      const p = await db.projects.create('incidents');
      const t0 = Date.UTC(2025, 0, 1);
      const i = await db.incidents.open(p.id, 'app-a', 'warning', t0, { burnRate: 14.4 });
      assert.ok(i);
      assert.equal(i.openedAt, t0);
      assert.equal(await db.incidents.open(p.id, 'app-a', 'critical', t0 + 1000, {}), undefined, 'second open incident refused');
      assert.equal((await db.incidents.openFor(p.id, 'app-a'))?.key, i.key);
      assert.equal(await db.incidents.update(p.id, i.key, 'critical', { burnRate: 30 }), true);
      assert.equal((await db.incidents.get(p.id, i.key))?.severity, 'critical');
      await assert.rejects(db.incidents.update(p.id, i.key, 'fatal' as 'critical', {}), InvalidValueError);
      await assert.rejects(db.incidents.resolve(p.id, i.key, t0 - 1), InvalidValueError, 'resolved before opened');
      assert.equal(await db.incidents.resolve(p.id, i.key, t0 + 60_000), true);
      assert.equal(await db.incidents.resolve(p.id, i.key, t0 + 60_000), false, 'resolved once');
      const j = await db.incidents.open(p.id, 'app-a', 'warning', t0 + 120_000, {});
      assert.ok(j, 'a new incident after the previous one resolved');
      assert.deepEqual((await db.incidents.list(p.id, t0, t0 + 30_000)).map((x) => x.key), [i.key]);
      assert.deepEqual((await db.incidents.list(p.id, t0, t0 + 200_000)).map((x) => x.key), [j.key, i.key]);
      assert.deepEqual((await db.incidents.list(p.id, t0 + 100_000, t0 + 110_000)).map((x) => x.key), []);
    });

    test('notification integrations: one per type, JSON object config', async () => {
      const p = await db.projects.create('notify');
      await db.integrations.put(p.id, 'slack', { token: 'xoxb-1', channel: '#ops' });
      await db.integrations.put(p.id, 'webhook', { url: 'https://example.com/hook', headers: { A: 'b' } }, false);
      await db.integrations.put(p.id, 'slack', { token: 'xoxb-2', channel: '#ops' });
      const list = await db.integrations.list(p.id);
      assert.deepEqual(list.map((x) => [x.type, x.enabled]), [['slack', true], ['webhook', false]]);
      assert.equal((await db.integrations.get(p.id, 'slack'))?.config.token, 'xoxb-2');
      await assert.rejects(db.integrations.put(p.id, 'email' as 'slack', {}), InvalidValueError);
      await assert.rejects(db.integrations.put(p.id, 'pagerduty', [1] as unknown as Record<string, never>), InvalidValueError);
      assert.equal(await db.integrations.delete(p.id, 'slack'), true);
      assert.equal((await db.integrations.list(p.id)).length, 1);
    });

    test('concurrent migrations on one fresh database apply each version once', async () => {
      const drivers = await factory().freshMany(4);
      try {
        const results = await Promise.all(drivers.map((d) => migrate(d)));
        const applied = results.flat().sort();
        assert.deepEqual(applied, migrations.map((m) => m.version), `each migration applied by exactly one starter: ${JSON.stringify(results)}`);
        const rows = await drivers[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
        assert.equal(rows[0]!.n, migrations.length);
      } finally {
        await Promise.all(drivers.map((d) => d.close()));
      }
    });
  });
}

// ---- PGlite -------------------------------------------------------------------------------
const pgliteDirs: string[] = [];
after(() => { for (const d of pgliteDirs) rmSync(d, { recursive: true, force: true }); });

configDbSuite('PGlite', () => ({
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'rootsight-configdb-'));
    pgliteDirs.push(dir);
    return openPgliteDriver(join(dir, 'configdb'));
  },
  // PGlite is one connection per process: "concurrent" starters share it, and its transaction
  // queue must serialise them.
  async freshMany(n: number) {
    const d = await this.fresh();
    let open = n;
    return Array.from({ length: n }, () => ({ ...d, close: async () => { if (--open === 0) await d.close(); } }));
  },
} satisfies Factory));

// ---- PostgreSQL 15 ------------------------------------------------------------------------
let cluster: PgCluster | undefined;
after(async () => { await cluster?.stop(); });

configDbSuite('PostgreSQL 15', () => ({
  async fresh() {
    cluster ??= await PgCluster.start();
    return openPostgresDriver(await cluster.createDatabase(), () => undefined);
  },
  async freshMany(n: number) {
    cluster ??= await PgCluster.start();
    const url = await cluster.createDatabase();
    return Promise.all(Array.from({ length: n }, () => openPostgresDriver(url, () => undefined)));
  },
} satisfies Factory));

/** A throwaway PostgreSQL cluster in a temp dir, on a free port of 127.0.0.1. */
class PgCluster {
  private dbs = 0;
  private constructor(private readonly dir: string, private readonly proc: ChildProcess, readonly port: number, private readonly stderr: string[]) {}

  static async start(): Promise<PgCluster> {
    if (!existsSync(join(pgBin, 'postgres'))) {
      throw new Error(`PostgreSQL 15 is not installed (${pgBin}/postgres missing): apt-get install -y --no-install-recommends postgresql`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'rootsight-pg-'));
    // initdb refuses to run as root: run the cluster as the postgres user.
    const owner = process.getuid?.() === 0 ? userIds('postgres') : undefined;
    if (owner) chownSync(dir, owner.uid, owner.gid);
    const data = join(dir, 'data');
    const init = spawnSync(join(pgBin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], { encoding: 'utf8', ...owner });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    const port = await freePort();
    const stderr: string[] = [];
    const proc = spawn(join(pgBin, 'postgres'), ['-D', data, '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-p', String(port), '-c', 'fsync=off'], { stdio: ['ignore', 'ignore', 'pipe'], ...owner });
    proc.stderr!.on('data', (b: Buffer) => { stderr.push(b.toString()); if (stderr.length > 200) stderr.shift(); });
    const c = new PgCluster(dir, proc, port, stderr);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
      try {
        await client.connect();
        await client.end();
        return c;
      } catch (e) {
        await client.end().catch(() => undefined);
        if (proc.exitCode !== null || Date.now() > deadline) {
          await c.stop();
          throw new Error(`postgres did not start: ${(e as Error).message}\n${stderr.join('')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** A new empty database; returns its URL. */
  async createDatabase(): Promise<string> {
    const name = `t${++this.dbs}`;
    const client = new pg.Client({ host: '127.0.0.1', port: this.port, user: 'postgres', database: 'postgres' });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return `postgres://postgres@127.0.0.1:${this.port}/${name}`;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGINT'); // fast shutdown
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function userIds(name: string): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error(`no user "${name}" (installed with the postgresql package)`);
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => done(typeof a === 'object' && a ? a.port : 0));
    });
  });
}
