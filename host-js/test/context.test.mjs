// Context-window management through `compress` and the adapters: a window applies only for a
// known model or an explicit `contextLimit`, and messages dropped to fit are a change that is
// reported (`compressed`, `context`) and forwarded.
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { compress, countMessages, retrieve, withHeadroom } from '../dist/index.js';
import { startMockUpstream } from './support.mjs';

/** Prose the engine never rewrites (what people typed, assistant turns): only dropping can shrink it. */
function prose(i, words) {
  return Array.from({ length: words }, (_, j) => `t${i}w${(j * 7919 + i) % 10007}`).join(' ');
}

/** Anthropic messages (text blocks and an image: no tool blocks) of about 150k tokens. */
function bigAnthropic() {
  const messages = Array.from({ length: 16 }, (_, i) => ({
    role: i % 2 ? 'assistant' : 'user',
    content: [{ type: 'text', text: prose(i, 1900) }],
  }));
  messages.push({
    role: 'user',
    content: [
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'text', text: 'What does this picture show?' },
    ],
  });
  return messages;
}

/** A small Chat conversation of plain turns, about 1 700 tokens. */
function smallChat() {
  const messages = Array.from({ length: 8 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: prose(i, 100) }));
  messages.push({ role: 'user', content: 'And now?' });
  return messages;
}

test('the fixtures are what the tests need', async () => {
  const n = await countMessages(bigAnthropic());
  assert.ok(n > 128_000 && n < 200_000, `${n} tokens`);
  assert.ok(await countMessages(smallChat()) > 1_000);
});

test('without a model no window applies: an Anthropic conversation over 128k tokens comes back whole', async () => {
  const messages = bigAnthropic();
  const r = await compress(messages, { store: false });
  assert.equal(r.format, 'anthropic');
  assert.deepEqual(r.messages, messages);
  assert.equal(r.compressed, false);
  assert.equal(r.context, undefined);
  assert.equal(r.tokensAfter, r.tokensBefore);
});

test('a known model keeps context management on: the model’s window applies', async () => {
  const messages = bigAnthropic();
  const claude = await compress(messages, { model: 'claude-sonnet-4-5', store: false });
  assert.deepEqual(claude.messages, messages, 'fits 200k');
  assert.equal(claude.compressed, false);
  const gpt = await compress(messages, { model: 'gpt-4o', store: false });
  assert.ok(gpt.messages.length < messages.length);
  assert.equal(gpt.context.window, 128_000);
  assert.ok(gpt.context.tokensAfter <= 128_000);
});

test('an explicit contextLimit applies without a model', async () => {
  const messages = bigAnthropic();
  const r = await compress(messages, { contextLimit: 100_000, store: false });
  assert.ok(r.messages.length < messages.length);
  assert.equal(r.context.window, 100_000);
  assert.ok(r.context.tokensAfter <= 100_000);
});

test('messages dropped to fit (no block compressed) are a change, with the context report', async () => {
  const messages = smallChat();
  const r = await compress(messages, { contextLimit: 800 });
  assert.deepEqual(r.transformsApplied, []);
  assert.ok(r.messages.length < messages.length);
  assert.equal(r.compressed, true);
  assert.ok(r.tokensAfter < r.tokensBefore);
  const c = r.context;
  assert.ok(c, 'context report');
  assert.deepEqual(Object.keys(c).sort(), ['compressedDeeper', 'key', 'messagesDropped', 'outputBudget', 'tokensAfter', 'tokensBefore', 'window']);
  assert.equal(c.window, 800);
  assert.equal(c.outputBudget, 0);
  assert.ok(c.tokensBefore > 800 && c.tokensAfter <= 800);
  assert.equal(typeof c.compressedDeeper, 'boolean');
  assert.ok(c.messagesDropped > 0);
  assert.match(c.key, /^h:[0-9a-f]{24}$/);
  assert.ok(r.ccrHashes.includes(c.key));
  // The dropped messages are kept, as their original JSON.
  const dropped = JSON.parse(retrieve(c.key));
  assert.equal(dropped.length, c.messagesDropped);
  for (const m of dropped) assert.ok(messages.some((o) => JSON.stringify(o) === JSON.stringify(m)));
});

test('a request that fits has no context report and is not compressed', async () => {
  const r = await compress(smallChat(), { model: 'gpt-4o' });
  assert.equal(r.compressed, false);
  assert.equal('context' in r, false);
});

let mock;
before(async () => {
  mock = await startMockUpstream();
});
after(() => mock.close());

test('withHeadroom forwards messages dropped to fit (OpenAI Chat)', async () => {
  const seen = [];
  const openai = withHeadroom(new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'sk-test', maxRetries: 0 }), {
    contextLimit: 800,
    onCompress: (r) => seen.push(r),
  });
  const messages = smallChat();
  const expected = await compress(messages, { model: 'gpt-4o', contextLimit: 800, store: false });
  assert.ok(expected.messages.length < messages.length);
  await openai.chat.completions.create({ model: 'gpt-4o', messages });
  assert.deepEqual(mock.requests.at(-1).body.messages, expected.messages);
  assert.ok(seen.at(-1).context.messagesDropped > 0);
});

test('withHeadroom forwards messages dropped to fit (Anthropic, text and image blocks only)', async () => {
  const anthropic = withHeadroom(new Anthropic({ baseURL: mock.url, apiKey: 'sk-ant-test', maxRetries: 0 }), { contextLimit: 800 });
  const messages = smallChat().map((m) => ({ role: m.role, content: [{ type: 'text', text: m.content }] }));
  const expected = await compress(messages, { model: 'claude-sonnet-4-5', format: 'anthropic', contextLimit: 800, store: false });
  assert.ok(expected.messages.length < messages.length);
  await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages });
  assert.deepEqual(mock.requests.at(-1).body.messages, expected.messages);
});
