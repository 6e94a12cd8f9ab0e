// Small helpers shared by the tests in which a real Prometheus talks to Rootsight.
import assert from 'node:assert/strict';

/** Logs in as admin and creates an API key on the (only) project; returns the key. */
export async function createIngestKey(serverUrl: string, adminPassword: string): Promise<string> {
  const login = await fetch(`${serverUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'admin', password: adminPassword }) });
  assert.equal(login.status, 200, `login: ${await login.text()}`);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const projects = (await (await fetch(`${serverUrl}/api/projects`, { headers: { cookie } })).json()) as { id: string }[];
  assert.equal(projects.length, 1);
  const r = await fetch(`${serverUrl}/api/projects/${projects[0]!.id}/api-keys`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{}' });
  assert.equal(r.status, 201, `create key: ${await r.clone().text()}`);
  return ((await r.json()) as { key: string }).key;
}

/** Polls `check` until it returns a value other than undefined, or fails naming `what`. */
export async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, lastState?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastState ? `; ${lastState()}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The result rows of a successful instant query, or throws with the server's answer. */
export async function instantRows(url: string, q: string, timeSec: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`${url}/api/v1/query`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: q, time: String(timeSec) }) });
  const body = (await r.json()) as { status: string; data?: { resultType: string; result: unknown }; error?: string };
  if (body.status !== 'success' || body.data?.resultType !== 'vector') throw new Error(`${url} ${q}: ${r.status} ${JSON.stringify(body)}`);
  return body.data.result as { metric: Record<string, string>; value: [number, string] }[];
}
