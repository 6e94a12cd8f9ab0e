// Access control against a real server: every registered route, asked without credentials and
// with each role, must answer as auth/route-access.ts says. A route added without an entry there
// shows up as "unlisted" and fails this test.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Access } from '../src/auth/route-access.ts';
import { push, removeDir, series, startTestServer, type TestServer } from './helpers.ts';

interface RouteInfo { method: string; url: string; access: Access | 'unlisted' }
type Role = 'viewer' | 'editor' | 'admin';
type Who = { kind: 'anonymous' } | { kind: 'user'; role: Role; cookie: string; login: string; password: string };

let server: TestServer;
let adminPassword = '';
let adminCookie = '';
const T0 = Date.now() - 60_000;

async function call(method: string, path: string, opts: { cookie?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  return fetch(`${server.url}${path}`, { method, headers, body: opts.body, redirect: 'manual' });
}

async function json<T>(r: Response): Promise<T> {
  return (await r.json()) as T;
}

async function login(name: string, password: string): Promise<string> {
  const r = await call('POST', '/api/login', { body: JSON.stringify({ name, password }) });
  assert.equal(r.status, 200, `login ${name}: ${await r.clone().text()}`);
  const setCookie = r.headers.get('set-cookie') ?? '';
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Lax/);
  return setCookie.split(';')[0]!;
}

before(async () => {
  server = await startTestServer();
  // No --admin-password: the server generates one and prints it once.
  const lines = server.logs.filter((l) => /created user "admin" with password/.test(l));
  assert.equal(lines.length, 1, server.logs.join('\n'));
  adminPassword = /with password (\S+)/.exec(lines[0]!)![1]!;
  adminCookie = await login('admin', adminPassword);
});

after(async () => {
  await server?.close();
  if (server) removeDir(server.dataDir);
});

async function createUser(name: string, role: Role, password = `pw-${name}-12345`): Promise<{ id: string; password: string }> {
  const r = await call('POST', '/api/users', { cookie: adminCookie, body: JSON.stringify({ email: `${name}@example.com`, name, password, role }) });
  assert.equal(r.status, 201, await r.clone().text());
  return { id: (await json<{ id: string }>(r)).id, password };
}

async function setAnonymousRole(role: string): Promise<void> {
  const r = await call('PUT', '/api/server-settings/auth.anonymous_role', { cookie: adminCookie, body: JSON.stringify({ value: role }) });
  assert.equal(r.status, 200, await r.clone().text());
}

const rank: Record<Role, number> = { viewer: 1, editor: 2, admin: 3 };

/** 'allow' or the status a denied request must get. */
function expected(access: Access, who: Who, anonymousRole: Role | 'none'): 'allow' | 401 | 403 {
  if (access === 'public') return 'allow';
  if (access === 'session') return who.kind === 'user' ? 'allow' : 401;
  const need: Role = access === 'query' ? 'viewer' : access as Role;
  const role = who.kind === 'user' ? who.role : anonymousRole;
  if (role !== 'none' && rank[role] >= rank[need]) return 'allow';
  return who.kind === 'user' ? 403 : 401;
}

describe('every route against the route table', () => {
  let routes: RouteInfo[];

  before(async () => {
    const r = await call('GET', '/api/access/routes', { cookie: adminCookie });
    assert.equal(r.status, 200);
    routes = await json<RouteInfo[]>(r);
  });

  test('every registered route has an entry', () => {
    const unlisted = routes.filter((r) => r.access === 'unlisted').map((r) => `${r.method} ${r.url}`);
    assert.deepEqual(unlisted, [], 'add these to server/src/auth/route-access.ts');
    for (const must of ['POST /api/login', 'GET /api/service-map', 'POST /v1/metrics', 'GET /health', 'GET /metrics', 'DELETE /api/users/:userId']) {
      assert.ok(routes.some((r) => `${r.method} ${r.url}` === must), `${must} is registered`);
    }
  });

  async function walk(who: Who, anonymousRole: Role | 'none'): Promise<void> {
    // Fresh objects for the routes with parameters, so deletions in this walk hit scratch data.
    const p = await call('POST', '/api/projects', { cookie: adminCookie, body: JSON.stringify({ name: `walk-${Math.random().toString(36).slice(2, 10)}` }) });
    assert.equal(p.status, 201);
    const projectId = (await json<{ id: string }>(p)).id;
    const scratchUser = await createUser(`scratch${Math.random().toString(36).slice(2, 10)}`, 'viewer');
    const order = (r: RouteInfo) => r.url === '/api/logout' ? 4 : r.method === 'DELETE' ? 3 : r.method === 'GET' || r.method === 'HEAD' ? 1 : 2;
    const list = routes.filter((r) => r.access !== 'ingest').sort((a, b) => order(a) - order(b));
    const problems: string[] = [];
    let cookie = who.kind === 'user' ? who.cookie : undefined;
    for (const r of list) {
      let path = r.url
        .replace(':projectId', projectId).replace(':userId', scratchUser.id).replace(':keyId', 'nokey000')
        .replace(':name', 'job').replace('*', 'index.html')
        .replace(':key', r.url.startsWith('/api/server-settings') ? 'auth.anonymous_role' : 'walk.key');
      if (path.startsWith('/prometheus/')) path += `?query=up&match[]=up&start=${Math.floor(T0 / 1000)}&end=${Math.floor(T0 / 1000) + 60}&step=15`;
      const mutating = r.method === 'POST' || r.method === 'PUT';
      const res = await call(r.method, path, { cookie, body: mutating && !r.url.startsWith('/prometheus/') ? '{}' : undefined });
      await res.arrayBuffer();
      const want = expected(r.access as Access, who, anonymousRole);
      const label = `${r.method} ${r.url} as ${who.kind === 'user' ? who.role : `anonymous(${anonymousRole})`}: got ${res.status}, want ${want}`;
      if (want === 'allow') {
        if (res.status === 401 || res.status === 403 || res.status >= 500) problems.push(label);
        // Reads with existing parameters must succeed outright.
        else if ((r.method === 'GET' || r.method === 'HEAD') && r.url !== '/*' && r.url !== '/' && (res.status < 200 || res.status > 299)) problems.push(label);
      } else if (res.status !== want) problems.push(label);
      if (r.url === '/api/logout' && who.kind === 'user') cookie = await login(who.login, who.password);
    }
    assert.deepEqual(problems, []);
  }

  test('anonymous, default anonymous role viewer', async () => {
    const me = await json<{ anonymous: boolean; role: string }>(await call('GET', '/api/me'));
    assert.deepEqual([me.anonymous, me.role], [true, 'viewer']);
    await walk({ kind: 'anonymous' }, 'viewer');
  });

  for (const role of ['viewer', 'editor', 'admin'] as const) {
    test(`logged in as ${role}`, async () => {
      const name = `walk${role}`;
      const u = await createUser(name, role);
      const cookie = await login(name, u.password);
      const me = await json<{ user: { role: string; name: string } }>(await call('GET', '/api/me', { cookie }));
      assert.equal(me.user.role, role);
      await walk({ kind: 'user', role, cookie, login: name, password: u.password }, 'viewer');
    });
  }

  test('anonymous with the anonymous role turned off', async () => {
    await setAnonymousRole('none');
    try {
      assert.equal((await call('GET', '/api/me')).status, 401);
      await walk({ kind: 'anonymous' }, 'none');
      // A viewer is unaffected.
      const u = await createUser('walkviewer2', 'viewer');
      await walk({ kind: 'user', role: 'viewer', cookie: await login('walkviewer2', u.password), login: 'walkviewer2', password: u.password }, 'none');
    } finally {
      await setAnonymousRole('viewer');
    }
  });
});

describe('ingest keys', () => {
  const sample = () => [series('ingest_probe_total', { job: 'x' }, [[T0, 1]])];

  test('empty key while one project exists, 404 for a wrong key, keys required once a second project exists', async () => {
    const projects = await json<{ id: string }[]>(await call('GET', '/api/projects'));
    // Earlier walks created projects; remove all but one.
    for (const p of projects.slice(1)) assert.equal((await call('DELETE', `/api/projects/${p.id}`, { cookie: adminCookie })).status, 204);
    const only = projects[0]!.id;
    assert.equal((await call('DELETE', `/api/projects/${only}`, { cookie: adminCookie })).status, 409, 'the last project stays');

    assert.equal((await push(server.url, sample())).status, 204, 'empty key, one project');
    const wrong = await push(server.url, sample(), { 'X-API-Key': 'not-a-key' });
    assert.equal(wrong.status, 404);
    assert.match(await wrong.text(), /project not found/);

    const second = await json<{ id: string }>(await call('POST', '/api/projects', { cookie: adminCookie, body: JSON.stringify({ name: 'second' }) }));
    assert.equal((await push(server.url, sample())).status, 404, 'empty key, two projects');

    const created = await call('POST', `/api/projects/${second.id}/api-keys`, { cookie: adminCookie, body: JSON.stringify({ description: 'agent' }) });
    assert.equal(created.status, 201);
    const key = await json<{ id: string; key: string; prefix: string }>(created);
    assert.equal((await push(server.url, sample(), { 'X-API-Key': key.key })).status, 204);

    const listed = await (await call('GET', `/api/projects/${second.id}/api-keys`, { cookie: adminCookie })).text();
    assert.ok(listed.includes(key.prefix) && !listed.includes(key.key), 'a key is shown once, then only its prefix');
    assert.ok(!server.logs.join('\n').includes(key.key), 'keys are never logged');

    assert.equal((await call('DELETE', `/api/projects/${second.id}/api-keys/${key.id}`, { cookie: adminCookie })).status, 204);
    assert.equal((await push(server.url, sample(), { 'X-API-Key': key.key })).status, 404, 'a deleted key stops working');
    assert.equal((await call('DELETE', `/api/projects/${second.id}`, { cookie: adminCookie })).status, 204);
    assert.equal((await push(server.url, sample())).status, 204, 'one project again: empty key accepted');
  });
});

describe('Prometheus API credentials (for Grafana and promtool)', () => {
  test('basic auth, bearer key and X-API-Key work when anonymous access is off', async () => {
    const projects = await json<{ id: string }[]>(await call('GET', '/api/projects'));
    const key = await json<{ key: string }>(await call('POST', `/api/projects/${projects[0]!.id}/api-keys`, { cookie: adminCookie, body: '{}' }));
    await setAnonymousRole('none');
    try {
      const q = '/prometheus/api/v1/query?query=1';
      const anon = await call('GET', q);
      assert.equal(anon.status, 401);
      assert.match(anon.headers.get('www-authenticate') ?? '', /^Basic /);
      const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
      assert.equal((await call('GET', q, { headers: basic('admin', adminPassword) })).status, 200);
      assert.equal((await call('GET', q, { headers: basic('admin', adminPassword) })).status, 200, 'cached');
      assert.equal((await call('GET', q, { headers: basic('admin', 'wrong-password') })).status, 401);
      assert.equal((await call('GET', q, { headers: { authorization: `Bearer ${key.key}` } })).status, 200);
      assert.equal((await call('GET', q, { headers: { 'x-api-key': key.key } })).status, 200);
      assert.equal((await call('GET', q, { headers: { authorization: 'Bearer nope' } })).status, 401);
      // Basic auth is for the Prometheus API only; the UI API wants a session.
      assert.equal((await call('GET', '/api/projects', { headers: basic('admin', adminPassword) })).status, 401);
    } finally {
      await setAnonymousRole('viewer');
    }
  });

  test('the flag-less default keeps the old clients working: reads need no login', async () => {
    assert.equal((await call('GET', '/prometheus/api/v1/query?query=1')).status, 200);
    assert.equal((await call('GET', '/api/service-map')).status, 200);
    assert.equal((await call('GET', '/health')).status, 200);
    assert.equal((await call('POST', '/api/projects', { body: '{"name":"anon"}' })).status, 401);
  });
});

describe('sessions', () => {
  test('logout ends the session; a password change ends the others', async () => {
    const u = await createUser('sessuser', 'editor');
    const a = await login('sessuser', u.password);
    const b = await login('sessuser', u.password);
    assert.equal((await call('POST', '/api/logout', { cookie: a })).status, 204);
    assert.equal((await call('PUT', '/api/projects/x/settings/k', { cookie: a, body: '{"value":1}' })).status, 401);
    assert.equal((await call('PUT', '/api/me/password', { cookie: b, body: JSON.stringify({ currentPassword: 'wrong-password', newPassword: 'another-pw-123' }) })).status, 403);
    const c = await login('sessuser', u.password);
    assert.equal((await call('PUT', '/api/me/password', { cookie: b, body: JSON.stringify({ currentPassword: u.password, newPassword: 'another-pw-123' }) })).status, 204);
    assert.equal((await json<{ user: unknown }>(await call('GET', '/api/me', { cookie: b }))).user !== null, true, 'the changing session stays');
    assert.equal((await json<{ anonymous: boolean }>(await call('GET', '/api/me', { cookie: c }))).anonymous, true, 'other sessions end');
    assert.equal((await call('POST', '/api/login', { body: JSON.stringify({ name: 'sessuser', password: u.password }) })).status, 401);
    await login('sessuser', 'another-pw-123');
    assert.equal((await call('GET', '/api/me', { cookie: 'rootsight_session=forged' })).status, 200, 'an unknown cookie is just anonymous');
  });

  test('login errors do not tell which part was wrong', async () => {
    const unknown = await call('POST', '/api/login', { body: JSON.stringify({ email: 'nobody@example.com', password: 'whatever-1' }) });
    const wrong = await call('POST', '/api/login', { body: JSON.stringify({ name: 'admin', password: 'whatever-1' }) });
    assert.equal(unknown.status, 401);
    assert.equal(wrong.status, 401);
    assert.deepEqual(await unknown.json(), await wrong.json());
  });
});

describe('bad input: a clear 4xx and nothing stored', () => {
  async function counts(): Promise<string> {
    const p = await json<unknown[]>(await call('GET', '/api/projects', { cookie: adminCookie }));
    const u = await json<unknown[]>(await call('GET', '/api/users', { cookie: adminCookie }));
    return `${p.length} projects, ${u.length} users`;
  }

  const cases: Array<[string, string, string, string | undefined, Record<string, string>?]> = [
    ['malformed JSON', 'POST', '/api/projects', '{"name": "x"'],
    ['JSON array', 'POST', '/api/projects', '["x"]'],
    ['number for a string', 'POST', '/api/projects', '{"name": 123}'],
    ['null name', 'POST', '/api/projects', '{"name": null}'],
    ['unknown field', 'POST', '/api/projects', '{"name": "ok", "owner": "me"}'],
    ['SQL in a name', 'POST', '/api/projects', JSON.stringify({ name: "x'); DROP TABLE projects; --" })],
    ['text/plain body', 'POST', '/api/projects', 'name=x', { 'content-type': 'text/plain' }],
    ['form body', 'POST', '/api/projects', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['oversized body', 'POST', '/api/projects', JSON.stringify({ name: 'a'.repeat(100_000) })],
    ['unknown role', 'POST', '/api/users', JSON.stringify({ email: 'r@example.com', name: 'r', password: 'long-enough-1', role: 'root' })],
    ['short password', 'POST', '/api/users', JSON.stringify({ email: 's@example.com', name: 's', password: 'short', role: 'viewer' })],
    ['bad email', 'POST', '/api/users', JSON.stringify({ email: "a' OR '1'='1", name: 't', password: 'long-enough-1', role: 'viewer' })],
    ['role as array', 'POST', '/api/users', JSON.stringify({ email: 'u@example.com', name: 'u', password: 'long-enough-1', role: ['admin'] })],
    ['duplicate user', 'POST', '/api/users', JSON.stringify({ email: 'ADMIN@localhost', name: 'admin2', password: 'long-enough-1', role: 'viewer' })],
    ['bad anonymous role', 'PUT', '/api/server-settings/auth.anonymous_role', '{"value": "root"}'],
    ['unknown server setting', 'PUT', '/api/server-settings/x', '{"value": 1}'],
  ];
  for (const [what, method, path, body, headers] of cases) {
    test(what, async () => {
      const before = await counts();
      const r = await call(method, path, { cookie: adminCookie, body, headers });
      const text = await r.text();
      assert.ok(r.status >= 400 && r.status < 500, `${what}: got ${r.status} ${text}`);
      assert.ok(text.length > 0 && text.length < 2000, `${what}: a short explanation, got ${JSON.stringify(text)}`);
      assert.equal(await counts(), before);
    });
  }

  test('settings: bad keys refused; SQL-looking values stored verbatim', async () => {
    const projects = await json<{ id: string }[]>(await call('GET', '/api/projects'));
    const base = `/api/projects/${projects[0]!.id}/settings`;
    assert.equal((await call('PUT', `${base}/${encodeURIComponent("k'; DROP TABLE settings; --")}`, { cookie: adminCookie, body: '{"value":1}' })).status, 400);
    assert.equal((await call('PUT', `${base}/ok.key`, { cookie: adminCookie, body: '{"value":1,"extra":2}' })).status, 400);
    assert.equal((await call('PUT', `${base}/ok.key`, { cookie: adminCookie, body: '{}' })).status, 400);
    assert.equal((await call('PUT', `${base}/ok.key`, { cookie: adminCookie, body: JSON.stringify({ value: 'x'.repeat(70_000) }) })).status, 413);
    assert.equal((await call('PUT', '/api/projects/nope0000/settings/ok.key', { cookie: adminCookie, body: '{"value":1}' })).status, 404);
    const tricky = { q: "'; DROP TABLE settings; --", n: [1, null, { deep: true }] };
    const put = await call('PUT', `${base}/tricky`, { cookie: adminCookie, body: JSON.stringify({ value: tricky }) });
    assert.equal(put.status, 200);
    const all = await json<Record<string, unknown>>(await call('GET', base));
    assert.deepEqual(all.tricky, tricky);
    assert.deepEqual(Object.keys(all), ['tricky']);
  });

  test('passwords never come back and are never logged', async () => {
    const password = 'very-secret-password-42';
    const created = await call('POST', '/api/users', { cookie: adminCookie, body: JSON.stringify({ email: 'secret@example.com', name: 'secret', password, role: 'viewer' }) });
    const text = await created.text();
    assert.equal(created.status, 201);
    const listed = await (await call('GET', '/api/users', { cookie: adminCookie })).text();
    for (const t of [text, listed]) {
      assert.ok(!t.includes(password) && !t.includes('scrypt') && !/password/i.test(t), t);
    }
    await login('secret', password);
    const logs = server.logs.join('\n');
    assert.ok(!logs.includes(password));
    assert.equal(logs.split(adminPassword).length - 1, 1, 'the generated admin password is printed exactly once');
  });

  test('the only admin cannot be demoted or deleted', async () => {
    const users = await json<{ id: string; name: string; role: string }[]>(await call('GET', '/api/users', { cookie: adminCookie }));
    for (const u of users) {
      if (u.role === 'admin' && u.name !== 'admin') assert.equal((await call('DELETE', `/api/users/${u.id}`, { cookie: adminCookie })).status, 204);
    }
    const admin = users.find((u) => u.name === 'admin')!;
    assert.equal((await call('PUT', `/api/users/${admin.id}`, { cookie: adminCookie, body: '{"role":"viewer"}' })).status, 409);
    assert.equal((await call('DELETE', `/api/users/${admin.id}`, { cookie: adminCookie })).status, 409);
  });
});
