// The local API: formats in and out, figures, transforms, originals kept for retrieval.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compress, compressContent, countMessages, countTokens, defaultStore, detectFormat, detectKind, retrieve,
  RetrievalStore,
} from '../dist/index.js';
import { anthropicConversation, chatConversation, golden, nativeCompress, responsesConversation } from './support.mjs';

// Bodies as `compress` builds them, and what the native host forwards for each.
const native = (dialect, body, mode) => JSON.parse(nativeCompress(Buffer.from(JSON.stringify(body)), dialect, mode));
const chat = { model: 'gpt-4o', messages: chatConversation() };
const chatExpected = native('openai-chat', chat);
const anthropic = { model: 'claude-sonnet-4-5', messages: anthropicConversation() };
const anthropicExpected = native('anthropic-messages', anthropic);
const responses = { model: 'gpt-4o', input: responsesConversation() };

test('formats are detected from the messages', async () => {
  assert.equal(await detectFormat(chat.messages), 'openai');
  assert.equal(await detectFormat(anthropic.messages), 'anthropic');
  assert.equal(await detectFormat(responses.input), 'openai-responses');
  assert.equal(await detectFormat([{ role: 'user', content: 'hi' }]), 'openai');
});

test('OpenAI Chat messages come back as the native engine rewrites them', async () => {
  const r = await compress(chat.messages, { model: chat.model });
  assert.equal(r.format, 'openai');
  assert.deepEqual(r.messages, chatExpected.messages);
  assert.ok(r.compressed);
  assert.ok(r.transformsApplied.length > 0);
  assert.equal(r.tokensBefore, await countMessages(chat.messages));
  assert.equal(r.tokensAfter, await countMessages(chatExpected.messages));
  assert.equal(r.tokensSaved, r.tokensBefore - r.tokensAfter);
  assert.ok(r.tokensSaved > 0);
  assert.equal(r.compressionRatio, r.tokensAfter / r.tokensBefore);
});

test('Anthropic messages are auto-detected and come back in Anthropic form', async () => {
  const r = await compress(anthropic.messages, { model: anthropic.model });
  assert.equal(r.format, 'anthropic');
  assert.deepEqual(r.messages, anthropicExpected.messages);
  assert.ok(r.tokensSaved > 0);
});

test('Responses input items compress with the format stated or detected', async () => {
  const stated = await compress(responses.input, { model: responses.model, format: 'openai-responses' });
  const detected = await compress(responses.input, { model: responses.model });
  assert.equal(detected.format, 'openai-responses');
  assert.deepEqual(stated.messages, detected.messages);
  assert.deepEqual(stated.messages, native('openai-responses', responses).input);
  assert.ok(stated.compressed);
});

test('the input array is not modified', async () => {
  const copy = structuredClone(chat.messages);
  await compress(chat.messages);
  assert.deepEqual(chat.messages, copy);
});

test('small conversations pass through untouched', async () => {
  const messages = [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'hi there' }];
  const r = await compress(messages);
  assert.equal(r.compressed, false);
  assert.deepEqual(r.messages, messages);
  assert.equal(r.tokensSaved, 0);
  assert.equal(r.compressionRatio, 1);
  assert.deepEqual(r.ccrHashes, []);
});

test('lossy edits leave their originals in the store, under the keys the markers cite', async () => {
  const store = new RetrievalStore();
  const r = await compress(chat.messages, { store });
  assert.ok(r.ccrHashes.length > 0);
  const text = JSON.stringify(r.messages);
  for (const key of r.ccrHashes) {
    assert.match(key, /^h:[0-9a-f]{24}$/);
    assert.ok(text.includes(`headroom_retrieve(\\"${key}\\")`), `a marker cites ${key}`);
    const original = store.get(key);
    assert.ok(original && chat.messages.some((m) => typeof m.content === 'string' && m.content.includes(original.slice(0, 200))));
  }
});

test('the default store backs retrieve()', async () => {
  defaultStore.clear();
  const r = await compress(chat.messages);
  assert.ok(r.ccrHashes.length > 0);
  for (const key of r.ccrHashes) assert.equal(typeof retrieve(key), 'string');
  assert.equal(retrieve('h:000000000000000000000000'), undefined);
});

test('lossy: false keeps every transform lossless: no markers, nothing stored', async () => {
  const r = await compress(chat.messages, { lossy: false, store: false });
  assert.deepEqual(r.ccrHashes, []);
  assert.ok(!JSON.stringify(r.messages).includes('headroom_retrieve('));
});

test('token mode saves more than cache mode on the same conversation', async () => {
  const turns = JSON.parse(golden('request-openai-chat-token').input);
  const cache = await compress(turns.messages, { mode: 'cache', store: false });
  // A short conversation: only an immediate batch (0) offloads it.
  const token = await compress(turns.messages, { mode: 'token', offloadBatchTokens: 0, store: false });
  assert.deepEqual(token.messages, JSON.parse(golden('request-openai-chat-token').expected).messages);
  assert.ok(token.tokensAfter < cache.tokensAfter);
});

test('protected tools are never rewritten', async () => {
  const names = anthropic.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])).filter((b) => b.type === 'tool_use').map((b) => b.name);
  assert.ok(names.length > 0);
  const r = await compress(anthropic.messages, { protectedTools: [...new Set(names)], store: false });
  assert.equal(r.compressed, false);
  assert.deepEqual(r.messages, anthropic.messages);
});

test('compressContent: one tool output, with a kind hint and a query', async () => {
  const c = golden('content-log-parity');
  const r = await compressContent(c.input.toString('utf8'));
  assert.ok(r.compressed);
  assert.equal(r.kind, 'log');
  assert.equal(r.text, c.expected.toString('utf8'));
  assert.equal(r.tokensBefore, countTokens(c.input.toString('utf8')));
  assert.equal(r.tokensAfter, countTokens(r.text));
  assert.ok(r.transform.length > 0);
  const hinted = await compressContent(c.input.toString('utf8'), { kind: 'log' });
  assert.equal(hinted.kind, 'log');
  const plugin = await compressContent('a b c', { kind: 'csv-table' });
  assert.equal(plugin.kind, 'csv-table');
  assert.equal(plugin.compressed, false);
  assert.equal(plugin.text, 'a b c');
});

test('detectKind names what the engine sees', async () => {
  assert.equal(await detectKind(golden('content-grep').input.toString('utf8')), 'search');
  assert.equal(await detectKind(golden('content-json-records').input.toString('utf8')), 'json');
});

test('countTokens is exact o200k_base, special-token text counted as text', async () => {
  assert.equal(countTokens('hello world'), 2);
  assert.equal(countTokens('a <|endoftext|> b'), 9);
  assert.equal(countTokens(''), 0);
});

test('newer engine options reach the engine: codeAware: false leaves code whole', async () => {
  const body = (i) => Array.from({ length: 18 }, (_, j) => `    total_${j} = compute(values[${j}], factor=${i * j}) + offset_${i}`).join('\n');
  const code = Array.from({ length: 30 }, (_, i) => `def handler_${i}(request, values, factor):\n    """Handle case ${i}."""\n${body(i)}\n    return total_0\n`).join('\n');
  const outlined = await compressContent(code, { kind: 'code', store: false });
  const whole = await compressContent(code, { kind: 'code', store: false, codeAware: false });
  assert.ok(outlined.compressed, outlined.transform);
  assert.notEqual(outlined.text, whole.text);
  await assert.rejects(compress([{ role: 'user', content: 'x' }], { contextStrategy: 'random' }), { kind: 'invalid_input' });
});
