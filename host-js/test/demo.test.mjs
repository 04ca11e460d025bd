// The built demo in Debian's headless Chromium: it loads, compresses a real sample in the page,
// and shows the same bytes and figures as Node; a screenshot is kept as an artifact.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { compressContent } from '../dist/index.js';
import { serveDir } from './static-server.mjs';
import { golden, HOST_JS, ROOT, startProxy } from './support.mjs';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const DIST = join(HOST_JS, 'demo/dist');
const ARTIFACTS = join(ROOT, 'target/artifacts');

let server;
let browser;

before(async () => {
  assert.ok(existsSync(join(DIST, 'index.html')), 'build the demo first: npm run demo:build');
  server = await serveDir(DIST);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('the browser bundle has no Node built-in in it', () => {
  const scripts = readdirSync(join(DIST, 'assets')).filter((f) => f.endsWith('.js'));
  assert.ok(scripts.length > 0);
  for (const f of scripts) {
    const code = readFileSync(join(DIST, 'assets', f), 'utf8');
    assert.doesNotMatch(code, /["'](node:)?(fs|fs\/promises|path|url|module|child_process)["']/, f);
  }
});

test('the demo compresses a golden sample in the page, figures and markers shown', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
  await page.waitForSelector('body[data-state="ready"]', { timeout: 30_000 });
  const firstLoad = server.sent.reduce((n, s) => n + s.bytes, 0);
  assert.ok(firstLoad <= 3 * 1024 * 1024, `first load transferred ${firstLoad} bytes`);

  const c = golden('content-log-parity');
  await page.selectOption('#sample', 'content-log-parity');
  assert.equal(await page.inputValue('#input'), c.input.toString('utf8'));
  await page.click('#run');
  await page.waitForSelector('body[data-state="done"]');

  const node = await compressContent(c.input.toString('utf8'));
  const fmt = new Intl.NumberFormat('en');
  assert.equal(await page.textContent('#output'), c.expected.toString('utf8'));
  assert.equal(await page.textContent('#before'), fmt.format(node.tokensBefore));
  assert.equal(await page.textContent('#after'), fmt.format(node.tokensAfter));
  assert.equal(await page.textContent('#saved'), `${((100 * node.tokensSaved) / node.tokensBefore).toFixed(1)}%`);
  assert.match(await page.textContent('#time'), /^\d+\.\d ms$/);
  assert.equal(await page.textContent('#detected'), `log · ${node.transform}`);
  const markers = await page.locator('mark.marker').count();
  assert.ok(markers > 0 && markers === (c.expected.toString('utf8').match(/headroom_retrieve\(/g) ?? []).length);

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'demo.png') });
  assert.deepEqual(errors, []);
});

test('pasted text is compressed too, and JSON markers are highlighted', async () => {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForSelector('body[data-state="ready"]', { timeout: 30_000 });
  const c = golden('content-json-records');
  await page.fill('#input', c.input.toString('utf8'));
  assert.equal(await page.inputValue('#sample'), '');
  await page.fill('#query', '');
  await page.click('#run');
  await page.waitForSelector('body[data-state="done"]');
  assert.equal(await page.textContent('#output'), c.expected.toString('utf8'));
  assert.match(await page.textContent('#detected'), /^json · /);
});

test('headroom proxy serves the built demo at /demo/, and it works from there', async () => {
  const proxy = await startProxy({ env: { HEADROOM_DEMO_DIR: DIST } });
  try {
    const page = await browser.newPage();
    await page.goto(`${proxy.url}/demo`);
    assert.equal(new URL(page.url()).pathname, '/demo/');
    await page.waitForSelector('body[data-state="ready"]', { timeout: 30_000 });
    await page.selectOption('#sample', 'content-traceback');
    await page.click('#run');
    await page.waitForSelector('body[data-state="done"]');
    assert.equal(await page.textContent('#output'), golden('content-traceback').expected.toString('utf8'));
    // The redact-secrets plugin, served by the proxy beside the page and loaded by URL.
    await page.selectOption('#sample', 'secrets');
    await page.check('#redact');
    await page.waitForFunction(() => /redact-secrets loaded/.test(document.getElementById('status').textContent));
    await page.click('#run');
    await page.waitForSelector('body[data-state="done"]');
    const masked = await page.textContent('#output');
    assert.match(masked, /AWS_ACCESS_KEY_ID=\[secret: aws-access-key masked\]/);
    assert.doesNotMatch(masked, /AKIAIOSFODNN7EXAMPLE/);
  } finally {
    await proxy.stop();
  }
});
