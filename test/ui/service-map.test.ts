// Drives the built service-map page in Debian's Chromium against a fixture API served by this
// test, so it depends on neither the real server nor a running agent.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

const root = resolve(import.meta.dirname, '../..');
const dist = join(root, 'ui', 'dist');
const resultsDir = join(root, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FRONTEND = 'default:Deployment:frontend';
const CATALOG = 'default:Deployment:catalog';
const POSTGRES = 'default:StatefulSet:postgres';
const LONG = 'payments-production-eu-west-1:Deployment:recommendation-engine-with-a-very-long-name';
const EXTERNAL = 'external:93.184.216.34:443';

const fixture = {
  applications: [
    { id: FRONTEND, instances: 3 },
    { id: CATALOG, instances: 2 },
    { id: POSTGRES, instances: 1 },
    { id: LONG, instances: 1 },
  ],
  edges: [
    { source: FRONTEND, target: CATALOG, destinations: ['10.0.1.12:8080'], connects: 1840, failures: 0, retransmits: 0, activeConnections: 12, status: 'ok' },
    { source: CATALOG, target: POSTGRES, destinations: ['10.0.2.7:5432'], connects: 310, failures: 12, retransmits: 3, activeConnections: 4, status: 'critical' },
    { source: FRONTEND, target: LONG, destinations: ['10.0.3.4:9000'], connects: 95, failures: 0, retransmits: 7, activeConnections: 2, status: 'warning' },
    { source: CATALOG, target: EXTERNAL, destinations: ['93.184.216.34:443'], connects: 42, failures: 0, retransmits: 0, activeConnections: 1, status: 'ok' },
  ],
  generatedAt: Date.now(),
};

type ApiMode = 'fixture' | 'error' | 'empty';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
  '.json': 'application/json',
};

class FixtureServer {
  mode: ApiMode = 'fixture';
  readonly windows: string[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server!.close(() => ok()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fixture');
    if (url.pathname === '/api/service-map') {
      this.windows.push(url.searchParams.get('window') ?? '');
      if (this.mode === 'error') {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('storage unavailable');
        return;
      }
      const body = this.mode === 'empty' ? { applications: [], edges: [], generatedAt: Date.now() } : { ...fixture, generatedAt: Date.now() };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    const rel = normalize(decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)).replace(/^[/\\]+/, '');
    const file = join(dist, rel);
    if (!file.startsWith(dist + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  }
}

/** Stroke colours are compared by dominant channel so the palette can change without breaking the test. */
function colourFamily(css: string): 'red' | 'amber' | 'green' | 'grey' {
  const m = css.match(/rgba?\((\d+),\s*(\d+),\s*(\d+)/);
  assert.ok(m, `stroke "${css}" is not an rgb() colour`);
  const [r, g, b] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (Math.max(r, g, b) - Math.min(r, g, b) < 30) return 'grey';
  if (r > g + 60 && r > b + 60 && g < 110) return 'red';
  if (r > b + 80 && g > b + 40) return 'amber';
  if (g > r && g > b) return 'green';
  return 'grey';
}

async function edgeStroke(page: Page, source: string, target: string): Promise<string> {
  const line = page.locator(`[data-testid="edge"][data-source="${source}"][data-target="${target}"] .edge-line`);
  return line.evaluate((el) => getComputedStyle(el).stroke);
}

describe('service map page', () => {
  const api = new FixtureServer();
  let browser: Browser;
  let page: Page;
  let baseUrl: string;

  before(async () => {
    if (!existsSync(join(dist, 'index.html'))) {
      throw new Error(`${dist}/index.html is missing: the UI has not been built. Run \`npm run setup\` (or \`npm run build -w ui\`) from ${root}, then rerun this test.`);
    }
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package or set CHROMIUM_PATH.`);
    mkdirSync(resultsDir, { recursive: true });
    baseUrl = await api.start();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1360, height: 780 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // A fake clock lets the test fire the 10 s refresh timer on demand instead of waiting for it.
    await page.clock.install({ time: new Date('2025-06-01T12:00:00Z') });
    await page.goto(baseUrl);
    await page.waitForSelector('[data-testid="service-map"]', { timeout: 15_000 });
    assert.deepEqual(pageErrors, []);
  });

  after(async () => {
    await browser?.close();
    await api.stop();
  });

  it('draws a node per application and a distinct node for the external target', async () => {
    const appIds = await page.locator('[data-testid="app-node"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-app-id')));
    assert.deepEqual(appIds.sort(), fixture.applications.map((a) => a.id).sort());
    const external = page.locator('[data-testid="external-node"]');
    assert.equal(await external.count(), 1);
    assert.equal(await external.getAttribute('data-app-id'), EXTERNAL);

    // The long id is shortened on the node but kept whole in the hover title.
    const longNode = page.locator(`[data-testid="app-node"][data-app-id="${LONG}"]`);
    const shown = await longNode.locator('.node-name').textContent();
    assert.ok(shown && shown.length < 30 && shown.includes('…'), `long id shown as "${shown}"`);
    assert.match((await longNode.locator('title').textContent()) ?? '', new RegExp(LONG));
    assert.equal(api.windows[0], '300', 'the default window is 5 minutes');

    await page.screenshot({ path: join(resultsDir, 'service-map.png') });
  });

  it('draws an arrow per edge coloured by status, labelled with connects and failures', async () => {
    const edges = await page.locator('[data-testid="edge"]').evaluateAll((els) =>
      els.map((e) => `${e.getAttribute('data-source')} -> ${e.getAttribute('data-target')} ${e.getAttribute('data-status')}`),
    );
    assert.deepEqual(edges.sort(), fixture.edges.map((e) => `${e.source} -> ${e.target} ${e.status}`).sort());

    assert.equal(colourFamily(await edgeStroke(page, CATALOG, POSTGRES)), 'red');
    assert.equal(colourFamily(await edgeStroke(page, FRONTEND, LONG)), 'amber');
    assert.equal(colourFamily(await edgeStroke(page, FRONTEND, CATALOG)), 'green');
    const okExternal = colourFamily(await edgeStroke(page, CATALOG, EXTERNAL));
    assert.ok(okExternal === 'green' || okExternal === 'grey', `ok edge to the external target is ${okExternal}`);

    const label = (s: string, t: string) =>
      page.locator(`[data-testid="edge"][data-source="${s}"][data-target="${t}"] [data-testid="edge-label"]`).textContent();
    assert.equal(await label(CATALOG, POSTGRES), '310 conn · 12 fail');
    assert.equal(await label(FRONTEND, CATALOG), '1.8k conn · 0 fail');

    // Every arrow has a drawn path that starts and ends somewhere.
    const paths = await page.locator('[data-testid="edge"] .edge-line').evaluateAll((els) => els.map((e) => e.getAttribute('d') ?? ''));
    for (const d of paths) assert.match(d, /^M[\d.]+,[\d.]+ .*[\d.]+,[\d.]+$/);
  });

  it('highlights a clicked node and lists its inbound and outbound edges', async () => {
    await page.locator(`[data-testid="app-node"][data-app-id="${CATALOG}"]`).click();
    const panel = page.locator('[data-testid="side-panel"]');
    await panel.waitFor({ state: 'visible', timeout: 5_000 });
    assert.equal(await panel.getAttribute('data-node-id'), CATALOG);
    assert.equal(await page.locator(`[data-testid="app-node"][data-app-id="${CATALOG}"]`).getAttribute('data-selected'), 'true');

    const rows = await panel.locator('[data-testid="panel-edge"]').evaluateAll((els) =>
      els.map((e) => ({
        direction: e.getAttribute('data-direction'),
        peer: e.getAttribute('data-peer'),
        status: e.getAttribute('data-status'),
        connects: e.querySelector('[data-stat="connects"]')?.textContent,
        failures: e.querySelector('[data-stat="failures"]')?.textContent,
      })),
    );
    assert.deepEqual(rows, [
      { direction: 'in', peer: FRONTEND, status: 'ok', connects: '1,840', failures: '0' },
      { direction: 'out', peer: POSTGRES, status: 'critical', connects: '310', failures: '12' },
      { direction: 'out', peer: EXTERNAL, status: 'ok', connects: '42', failures: '0' },
    ]);

    const highlighted = await page.locator('[data-testid="edge"][data-highlighted="true"]').evaluateAll((els) =>
      els.map((e) => `${e.getAttribute('data-source')}->${e.getAttribute('data-target')}`).sort(),
    );
    assert.deepEqual(highlighted, [`${CATALOG}->${EXTERNAL}`, `${CATALOG}->${POSTGRES}`, `${FRONTEND}->${CATALOG}`].sort());
    assert.match((await page.locator(`[data-testid="app-node"][data-app-id="${LONG}"]`).getAttribute('class')) ?? '', /is-dimmed/);

    await page.screenshot({ path: join(resultsDir, 'service-map-selected.png') });

    // Clicking the empty canvas clears the selection.
    await page.locator('.map-viewport').click({ position: { x: 4, y: 4 } });
    await panel.waitFor({ state: 'detached', timeout: 5_000 });
  });

  it('zooms in and back to fit', async () => {
    const svg = page.locator('[data-testid="service-map"]');
    const fitted = Number(await svg.getAttribute('width'));
    await page.locator('[data-testid="zoom-in"]').click();
    await page.waitForFunction(
      (w) => Number(document.querySelector('[data-testid="service-map"]')?.getAttribute('width')) > w,
      fitted,
      { timeout: 5_000 },
    );
    await page.locator('[data-testid="zoom-fit"]').click();
    await page.waitForFunction(
      (w) => Number(document.querySelector('[data-testid="service-map"]')?.getAttribute('width')) === w,
      fitted,
      { timeout: 5_000 },
    );
  });

  it('reloads with the chosen window', async () => {
    const before = api.windows.length;
    await page.locator('[data-testid="window-option"][data-window="900"]').click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="window-option"][aria-checked="true"]')?.getAttribute('data-window') === '900',
      undefined,
      { timeout: 5_000 },
    );
    await waitUntil(() => api.windows.length > before, 5_000, 'a request after changing the window');
    assert.equal(api.windows.at(-1), '900');
    assert.match(page.url(), /window=900/);
  });

  it('refreshes every 10 s, shows an error banner when the API fails and keeps the last map', async () => {
    await page.locator('[data-testid="updated-ago"]', { hasText: 'updated 0s ago' }).waitFor({ timeout: 5_000 });
    api.mode = 'error';
    const before = api.windows.length;
    await page.clock.runFor(10_000);
    await waitUntil(() => api.windows.length > before, 5_000, 'the 10 s refresh to hit the API');

    const banner = page.locator('[data-testid="error-banner"]');
    await banner.waitFor({ state: 'visible', timeout: 5_000 });
    assert.match((await banner.textContent()) ?? '', /500/);
    assert.equal(await page.locator('[data-testid="app-node"]').count(), fixture.applications.length, 'the last good map stays');
    assert.equal(await page.locator('[data-testid="edge"]').count(), fixture.edges.length);
    // The ticker runs on its own 1 s phase, so ten fake seconds read as 9 or 10.
    assert.match((await page.locator('[data-testid="updated-ago"]').textContent()) ?? '', /^updated (9|10)s ago$/);
    await page.screenshot({ path: join(resultsDir, 'service-map-error.png') });

    api.mode = 'fixture';
    await page.clock.runFor(10_000);
    await banner.waitFor({ state: 'detached', timeout: 5_000 });
  });

  it('shows the empty state when there are no applications', async () => {
    api.mode = 'empty';
    await page.locator('[data-testid="refresh"]').click();
    const empty = page.locator('[data-testid="empty-state"]');
    await empty.waitFor({ state: 'visible', timeout: 5_000 });
    assert.match((await empty.textContent()) ?? '', /No applications yet — is the agent running\?/);
    assert.equal(await page.locator('[data-testid="service-map"]').count(), 0);
    await page.screenshot({ path: join(resultsDir, 'service-map-empty.png') });
  });
});

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
