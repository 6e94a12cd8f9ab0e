// The UI is a single-page app: real files are served, unknown non-API paths fall back to
// index.html, and API paths keep answering JSON 404s. Without a build, / explains what to do.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { removeDir, startTestServer, tempDataDir } from './helpers.ts';

it('serves the built UI with an SPA fallback', async () => {
  const uiDir = join(tempDataDir(), 'dist');
  mkdirSync(join(uiDir, 'assets'), { recursive: true });
  writeFileSync(join(uiDir, 'index.html'), '<!doctype html><title>Rootsight</title>');
  writeFileSync(join(uiDir, 'assets', 'app.js'), 'console.log(1)');
  const srv = await startTestServer({ uiDir });
  try {
    const root = await fetch(`${srv.url}/`);
    assert.equal(root.status, 200);
    assert.match(await root.text(), /<title>Rootsight/);
    const asset = await fetch(`${srv.url}/assets/app.js`);
    assert.equal(await asset.text(), 'console.log(1)');
    const deep = await fetch(`${srv.url}/p/default/map`);
    assert.equal(deep.status, 200);
    assert.match(await deep.text(), /<title>Rootsight/);
    const api = await fetch(`${srv.url}/api/nope`);
    assert.equal(api.status, 404);
    assert.match(((await api.json()) as { error: string }).error, /no route for GET \/api\/nope/);
    assert.deepEqual(await (await fetch(`${srv.url}/health`)).json(), { status: 'ok' });
  } finally {
    await srv.close();
    removeDir(srv.dataDir);
    removeDir(join(uiDir, '..'));
  }
});

it('says the UI is not built when there is no index.html', async () => {
  const srv = await startTestServer();
  try {
    const r = await fetch(`${srv.url}/`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /UI is not built.*\n.*npm run setup/);
    assert.equal((await fetch(`${srv.url}/p/default/map`)).status, 404);
  } finally {
    await srv.close();
    removeDir(srv.dataDir);
  }
});
