// Typed errors, and faults that never lose the caller's messages.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { compress, compressBody, compressContent, HeadroomError, isHeadroomError } from '../dist/index.js';
import { chatConversation, HOST_JS } from './support.mjs';

test('invalid input is thrown as invalid_input', async () => {
  const cases = [
    () => compress('not an array'),
    () => compress([1, 2]),
    () => compress([{ role: 'user', content: 'x' }], { format: 'gemini' }),
    () => compress([{ role: 'user', content: 'x' }], { mode: 'fast' }),
    () => compress([{ role: 'user', content: 'x' }], { minTokens: -1 }),
    () => compressContent(42),
    () => compressBody('{}', { dialect: 'smoke-signals' }),
  ];
  for (const f of cases) {
    await assert.rejects(f(), (e) => e instanceof HeadroomError && e.kind === 'invalid_input', String(f));
  }
});

test('a body the engine cannot read is invalid_input, with the engine’s words', async () => {
  await assert.rejects(compressBody('{"messages": 7}', { dialect: 'openai-chat' }), (e) => {
    assert.equal(e.kind, 'invalid_input');
    assert.ok(e.message.length > 0);
    return true;
  });
});

test('messages the engine rejects carry the originals on the error', async () => {
  const messages = [{ role: 'user', content: 'x' }];
  await assert.rejects(compress(messages, { format: 'bogus' }), (e) => isHeadroomError(e) && e.kind === 'invalid_input');
});

// An engine that cannot even load: a copy of the package whose core module is cut short.
const broken = join(HOST_JS, 'node_modules/.headroom-test/broken');
after(() => rmSync(join(HOST_JS, 'node_modules/.headroom-test'), { recursive: true, force: true }));

async function brokenPackage() {
  rmSync(broken, { recursive: true, force: true });
  mkdirSync(broken, { recursive: true });
  for (const d of ['dist', 'gen', 'package.json']) cpSync(join(HOST_JS, d), join(broken, d), { recursive: true });
  truncateSync(join(broken, 'gen/headroom-core.core.wasm'), 1000);
  return import(join(broken, 'dist/index.js'));
}

test('an engine fault returns the original messages, flagged, by default', async () => {
  const pkg = await brokenPackage();
  const messages = chatConversation();
  const r = await pkg.compress(messages);
  assert.equal(r.compressed, false);
  assert.strictEqual(r.messages, messages);
  assert.equal(r.error.kind, 'engine_fault');
  assert.equal(r.tokensSaved, 0);
  // The count is the engine's rule (the package keeps no second copy): with no engine to ask,
  // there is no figure.
  assert.equal(r.tokensBefore, 0);
  assert.equal(r.tokensAfter, 0);
  assert.equal(r.format, 'openai');

  const c = await pkg.compressContent('some text');
  assert.equal(c.text, 'some text');
  assert.equal(c.error.kind, 'engine_fault');
});

test('with fallback: false an engine fault is thrown, the originals on the error', async () => {
  const pkg = await brokenPackage();
  const messages = chatConversation();
  await assert.rejects(pkg.compress(messages, { fallback: false }), (e) => {
    assert.equal(e.name, 'HeadroomError');
    assert.equal(e.kind, 'engine_fault');
    assert.strictEqual(e.messages, messages);
    return true;
  });
  await assert.rejects(pkg.compressContent('x', { fallback: false }), { kind: 'engine_fault' });
});
