// The proxy's /dashboard in Debian's headless Chromium: it loads from the binary alone (no
// other origin), shows the figures of requests proxied here, draws the history, and its export
// buttons download what /stats-history serves. A screenshot is kept as an artifact.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { anthropicConversation, chatConversation, responsesConversation, ROOT, startMockUpstream, startProxy } from './support.mjs';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const ARTIFACTS = join(ROOT, 'target/artifacts');

let mock;
let proxy;
let browser;
let dir;

async function post(path, body) {
  const r = await fetch(`${proxy.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'sk-dashboard-test', authorization: 'Bearer sk-dashboard-test' },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, path);
  await r.text();
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'headroom-dashboard-'));
  mock = await startMockUpstream();
  proxy = await startProxy({ upstream: mock.url, args: ['--savings-path', join(dir, 'proxy_savings.json'), '--savings-flush-ms', '100'] });
  for (const stream of [false, true]) {
    await post('/v1/chat/completions', { model: 'gpt-4o', stream, messages: chatConversation() });
    await post('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 100, stream, messages: anthropicConversation() });
    await post('/v1/responses', { model: 'gpt-5', stream, store: false, input: responsesConversation() });
  }
  for (let i = 0; i < 100; i++) {
    const s = await fetch(`${proxy.url}/stats`).then((r) => r.json());
    if (s.requests.total >= 6) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await proxy?.stop();
  await mock?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the dashboard shows live savings, the bill and the history, from the binary alone', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const errors = [];
  const origins = new Set();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => origins.add(new URL(r.url()).origin));
  await page.goto(`${proxy.url}/dashboard`);
  await page.waitForSelector('body[data-state="ready"]', { timeout: 15_000 });
  assert.deepEqual([...origins], [new URL(proxy.url).origin], 'no CDN or other origin');

  const stats = await fetch(`${proxy.url}/stats`).then((r) => r.json());
  const fmt = new Intl.NumberFormat('en');
  assert.equal(await page.textContent('#requests'), '6');
  assert.ok(stats.tokens.saved > 0);
  assert.equal(await page.textContent('#saved'), fmt.format(stats.tokens.saved));
  assert.equal(await page.textContent('#billed'), fmt.format(Math.round(stats.bill.total.billed_input_tokens)));
  assert.match(await page.textContent('#billed-sub'), /without Headroom/);
  assert.equal(await page.locator('#models tbody tr').count(), 3);
  assert.ok((await page.locator('#transforms tbody tr').count()) > 0);
  assert.ok((await page.locator('#sessions tbody tr').count()) >= 3);

  // The history chart, in each period.
  for (const period of ['daily', 'weekly', 'monthly', 'hourly']) {
    await page.click(`#periods button[data-period="${period}"]`);
    assert.ok((await page.locator('#chart svg rect[data-series="saved"]').count()) >= 1, period);
    assert.equal(await page.getAttribute('#export-csv', 'href'), `stats-history?format=csv&series=${period}`);
  }

  // Exports download what /stats-history serves.
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  assert.equal(csv.suggestedFilename(), 'headroom-hourly.csv');
  const served = await fetch(`${proxy.url}/stats-history?format=csv&series=hourly`).then((r) => r.text());
  assert.equal(readFileSync(await csv.path(), 'utf8'), served);
  const [json] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
  const exported = JSON.parse(readFileSync(await json.path(), 'utf8'));
  const history = await fetch(`${proxy.url}/stats-history?history_mode=full`).then((r) => r.json());
  assert.deepEqual(exported.lifetime, history.lifetime);
  assert.equal(exported.history_mode, 'full');

  // Legible: nothing overflows the viewport sideways.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `page overflows by ${overflow}px`);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  assert.deepEqual(errors, []);
});
