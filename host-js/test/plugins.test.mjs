// Plugins in the npm package: the golden cases of tests/golden-plugins/ (expected bytes written
// by the native path) byte-identical in Node and in headless Chromium; verification refuses what
// the native host refuses; a plugin that fails costs nothing and is quarantined after three
// failures; the demo masks planted secrets with redact-secrets on and leaves them with it off.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { compressContent, createCompressor } from '../dist/index.js';
import { serveDir } from './static-server.mjs';
import { HOST_JS, ROOT } from './support.mjs';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const CASES = join(ROOT, 'tests/golden-plugins');
const DIALECTS = { anthropic: 'anthropic-messages', 'openai-chat': 'openai-chat', 'openai-responses': 'openai-responses' };
const ARTIFACTS = join(ROOT, 'target/artifacts');
const built = (id) => join(ROOT, id === 'faulty' ? 'target/plugin-fixtures/faulty' : `target/plugins/${id}`);

function cases() {
  return readdirSync(CASES)
    .filter((n) => existsSync(join(CASES, n, 'case.json')))
    .sort()
    .map((name) => {
      const meta = JSON.parse(readFileSync(join(CASES, name, 'case.json'), 'utf8'));
      return {
        name,
        plugins: meta.plugins,
        options: { dialect: DIALECTS[meta.dialect], mode: meta.mode },
        input: readFileSync(join(CASES, name, 'input.json')),
        expected: readFileSync(join(CASES, name, 'expected.json')),
      };
    });
}

/** A plugin folder's files as the `{ manifest, component, sample }` source. */
function filesOf(id, edit = (m) => m) {
  const dir = built(id);
  const manifest = edit(readFileSync(join(dir, 'plugin.toml'), 'utf8'));
  const sample = readdirSync(dir).find((f) => f !== 'plugin.toml' && f !== 'plugin.wasm');
  return { manifest, component: new Uint8Array(readFileSync(join(dir, 'plugin.wasm'))), sample: readFileSync(join(dir, sample), 'utf8') };
}

test('the golden plugin cases are byte-identical to the native path in Node', async () => {
  const all = cases();
  assert.ok(all.length >= 2);
  for (const c of all) {
    const compressor = await createCompressor({ plugins: c.plugins.map(built) });
    const out = await compressor.compressBody(c.input, c.options);
    assert.ok(Buffer.from(out.body).equals(c.expected), `${c.name}:\n${Buffer.from(out.body).toString('utf8')}`);
    for (const p of compressor.plugins()) {
      assert.equal(p.failures + p.rejected, 0, `${c.name}: ${JSON.stringify(p)}`);
      assert.equal(p.state, 'active');
    }
  }
});

test('a plugin given as bytes runs as the same plugin given as a folder', async () => {
  const c = cases().find((x) => x.name === 'secrets-anthropic');
  const compressor = await createCompressor({ plugins: [filesOf('csv-table'), filesOf('redact-secrets')] });
  const out = await compressor.compressBody(c.input, c.options);
  assert.ok(Buffer.from(out.body).equals(c.expected));
  const [csv, redact] = compressor.plugins();
  assert.equal(csv.id, 'csv-table');
  assert.deepEqual(csv.kinds, ['other:csv', 'other:tsv']);
  assert.equal(redact.placement, 'before');
  assert.match(redact.sha256, /^[0-9a-f]{64}$/);
  assert.ok(redact.rewrites >= 1);
});

test('plugins leave the package functions alone', async () => {
  const text = readFileSync(join(CASES, 'secrets.txt'), 'utf8');
  await createCompressor({ plugins: [built('redact-secrets')] });
  const plain = await compressContent(text);
  assert.equal(plain.text, text);
  const none = await createCompressor();
  assert.deepEqual(none.plugins(), []);
  assert.equal((await none.compressContent(text)).text, text);
});

test('verification refuses what the native host refuses, naming the plugin and the check', async () => {
  const refused = async (source, says) => {
    await assert.rejects(createCompressor({ plugins: [source] }), (e) => {
      assert.equal(e.kind, 'invalid_input');
      assert.match(e.message, says);
      return true;
    });
  };
  await refused(filesOf('redact-secrets', (m) => m.replace(/sha256 = "[0-9a-f]+"/, `sha256 = "${'0'.repeat(64)}"`)), /sha256 mismatch/);
  await refused(filesOf('redact-secrets', (m) => m.replace('plugin@0.1.0', 'plugin@0.2.0')), /targets headroom:plugin\/plugin@0\.2\.0/);
  await refused(filesOf('redact-secrets', (m) => `${m}colour = "red"\n`), /colour/);
  await refused(filesOf('redact-secrets', (m) => m.replace('lossy = false', 'lossy = true')), /lossy must be false/);
  await refused(filesOf('redact-secrets', (m) => m.replace('expect = "rewritten"', 'expect = "declined"')), /redact-secrets: self-test failed: expected declined/);
  const core = filesOf('redact-secrets');
  core.component = core.component.slice(0, 100);
  await refused(core, /sha256 mismatch/);
  await refused(join(ROOT, 'target/plugins/no-such-plugin'), /no-such-plugin/);
  await assert.rejects(createCompressor({ plugins: [built('redact-secrets'), filesOf('redact-secrets')] }), /two plugins have the id redact-secrets/);
});

test('a plugin that traps, errs or returns garbage costs nothing, and is quarantined after three', async () => {
  const compressor = await createCompressor({ plugins: [built('faulty')] });
  const log = (fault) => `${Array.from({ length: 120 }, (_, i) => `2026-11-02 10:00:${String(i % 60).padStart(2, '0')} INFO worker ${i % 7} handled request ${i}`).join('\n')}\n${fault}\n`;
  const plain = await compressContent(log('FAULT:trap'), { kind: 'log' });
  const faults = ['FAULT:trap', 'FAULT:error', 'FAULT:larger'];
  for (const fault of faults) {
    const r = await compressContent(log(fault), { kind: 'log' });
    const got = await compressor.compressContent(log(fault), { kind: 'log' });
    assert.equal(got.error, undefined, fault);
    assert.equal(got.text, r.text, `${fault}: the block goes on as the built-ins leave it`);
  }
  assert.equal(plain.text.length > 0, true);
  const [status] = compressor.plugins();
  assert.equal(status.failures, 2, JSON.stringify(status));
  assert.equal(status.rejected, 1, JSON.stringify(status));
  assert.equal(status.state, 'quarantined');
  assert.match(status.lastError, /output refused: output of \d+ bytes is larger/);
  const calls = status.calls;
  await compressor.compressContent(log('FAULT:utf8'), { kind: 'log' });
  assert.equal(compressor.plugins()[0].calls, calls, 'a quarantined plugin is not called');
});

test('invalid UTF-8 from a plugin is a failure, not a crash', async () => {
  const compressor = await createCompressor({ plugins: [built('faulty')] });
  const text = `${'line of log output\n'.repeat(200)}FAULT:utf8\n`;
  const r = await compressor.compressContent(text, { kind: 'log' });
  assert.equal(r.error, undefined);
  assert.equal(r.text, (await compressContent(text, { kind: 'log' })).text);
  const [status] = compressor.plugins();
  assert.equal(status.failures, 1, JSON.stringify(status));
  assert.match(status.lastError, /trapped/);
});

describeBrowser();

function describeBrowser() {
  let server;
  let browser;
  before(async () => {
    assert.ok(existsSync(join(HOST_JS, 'demo/dist/plugins/redact-secrets/plugin.wasm')), 'build the demo first: npm run demo:build');
    server = await serveDir(join(HOST_JS, 'demo/dist'));
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function ready() {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 30_000 });
    return { page, errors };
  }

  test('the golden plugin cases are byte-identical in Chromium (a plugin by URL, one as bytes)', async () => {
    const { page, errors } = await ready();
    for (const c of cases()) {
      const plugins = c.plugins.map((id) => (id === 'redact-secrets' ? { url: 'plugins/redact-secrets/' } : { files: { ...filesOf(id), component: Array.from(filesOf(id).component) } }));
      const out = await page.evaluate(
        async ({ plugins, input, options }) => {
          const sources = plugins.map((p) => (p.url ? new URL(p.url, document.baseURI) : { ...p.files, component: new Uint8Array(p.files.component) }));
          const compressor = await window.headroom.createCompressor({ plugins: sources });
          const r = await compressor.compressBody(new TextDecoder().decode(new Uint8Array(input)), options);
          return { body: Array.from(r.body), plugins: compressor.plugins() };
        },
        { plugins, input: Array.from(c.input), options: c.options },
      );
      assert.ok(Buffer.from(out.body).equals(c.expected), `${c.name} in Chromium:\n${Buffer.from(out.body).toString('utf8')}`);
      assert.ok(out.plugins.every((p) => p.failures + p.rejected === 0), JSON.stringify(out.plugins));
    }
    assert.deepEqual(errors, []);
  });

  test('the demo masks planted secrets with redact-secrets on, and leaves them with it off', async () => {
    const { page, errors } = await ready();
    const text = readFileSync(join(CASES, 'secrets.txt'), 'utf8');
    await page.selectOption('#sample', 'secrets');
    assert.equal(await page.inputValue('#input'), text);

    await page.click('#run');
    await page.waitForSelector('body[data-state="done"]');
    assert.equal(await page.textContent('#output'), text, 'off: unchanged');
    assert.equal(await page.locator('mark.secret').count(), 0);

    await page.check('#redact');
    await page.waitForFunction(() => /redact-secrets loaded/.test(document.getElementById('status').textContent));
    await page.click('#run');
    await page.waitForSelector('body[data-state="done"]');
    const masked = await page.textContent('#output');
    const node = await (await createCompressor({ plugins: [built('redact-secrets')] })).compressContent(text);
    assert.equal(masked, node.text, 'the page and Node mask alike');
    for (const kind of ['anthropic-api-key', 'openai-api-key', 'aws-access-key', 'github-token', 'slack-token', 'stripe-key', 'jwt', 'private-key', 'password']) {
      assert.ok(masked.includes(`[secret: ${kind} masked]`), kind);
    }
    for (const secret of ['sk-ant-api03', 'sk-proj-', 'AKIAIOSFODNN7EXAMPLE', 'ghp_', 'xoxb-', 'sk_live_', 'eyJhbGci', 'MIIEowIBAAKCAQEA', 'Xk92-pqL7vW']) {
      assert.ok(!masked.includes(secret), secret);
    }
    assert.ok(masked.includes('3f9a2c1e8b7d6f5a4c3b2a1908f7e6d5c4b3a291'), 'a commit id is not a secret');
    assert.equal(await page.locator('mark.secret').count(), 9);
    assert.match(await page.textContent('#detected'), /plugin:redact-secrets/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-redact-secrets.png') });

    await page.uncheck('#redact');
    await page.click('#run');
    await page.waitForSelector('body[data-state="done"]');
    assert.equal(await page.textContent('#output'), text, 'off again: unchanged');
    assert.deepEqual(errors, []);
  });
}
