// Format detection: which provider's messages a list is, from its shape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compress, countMessages, detectFormat } from '../dist/index.js';

const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } };

test('Responses custom tool calls and their outputs are Responses items', async () => {
  assert.equal(await detectFormat([
    { role: 'user', content: 'apply the patch' },
    { type: 'custom_tool_call', call_id: 'c1', name: 'apply_patch', input: '*** Begin Patch' },
  ]), 'openai-responses');
  assert.equal(await detectFormat([{ type: 'custom_tool_call_output', call_id: 'c1', output: 'done' }]), 'openai-responses');
});

test('Responses message items are Responses, with string or part content', async () => {
  assert.equal(await detectFormat([{ type: 'message', role: 'user', content: 'hi' }]), 'openai-responses');
  assert.equal(await detectFormat([{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }]), 'openai-responses');
  assert.equal(await detectFormat([
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: [{ type: 'output_text', text: 'hello' }] },
  ]), 'openai-responses');
  assert.equal(await detectFormat([{ role: 'user', content: [{ type: 'input_image', image_url: 'https://x/y.png' }] }]), 'openai-responses');
});

test('Anthropic messages with only image and text blocks are Anthropic', async () => {
  assert.equal(await detectFormat([{ role: 'user', content: [image, { type: 'text', text: 'what is this?' }] }]), 'anthropic');
  assert.equal(await detectFormat([
    { role: 'user', content: 'look' },
    { role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }] },
  ]), 'anthropic');
});

test('ambiguous shapes keep the OpenAI default; Chat-only shapes stay OpenAI', async () => {
  assert.equal(await detectFormat([{ role: 'user', content: 'hi' }]), 'openai');
  assert.equal(await detectFormat([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]), 'openai');
  assert.equal(await detectFormat([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }]), 'openai');
});

test('an Anthropic `system` prompt settles ambiguous messages as Anthropic, unless something is Chat-only', async () => {
  const messages = [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }];
  assert.equal(await detectFormat(messages, { system: 'You are terse.' }), 'anthropic');
  assert.equal((await compress(messages, { system: 'You are terse.' })).format, 'anthropic');
  assert.equal(await detectFormat([{ role: 'tool', tool_call_id: 'c1', content: 'x' }], { system: 'x' }), 'openai');
  assert.equal(await detectFormat(messages, { system: undefined }), 'openai');
});

test('an Anthropic image conversation compresses as Anthropic, as with the format stated', async () => {
  const log = Array.from({ length: 300 }, (_, i) => `line ${i}: INFO processing request`).join('\n') + '\nERROR broke at 42';
  const messages = [
    { role: 'user', content: [image, { type: 'text', text: 'Why does this fail?' }] },
    { role: 'assistant', content: [{ type: 'text', text: 'Reading the log.' }] },
    { role: 'user', content: [{ type: 'text', text: log }] },
  ];
  const r = await compress(messages, { store: false });
  assert.equal(r.format, 'anthropic');
  assert.deepEqual(r, await compress(messages, { store: false, format: 'anthropic' }));
  assert.deepEqual(r.messages[0], messages[0]);
});

test('custom tool outputs are counted', async () => {
  const output = 'one two three four five';
  assert.ok(await countMessages([{ type: 'custom_tool_call_output', call_id: 'c1', output }]) > 0);
  assert.equal(
    await countMessages([{ type: 'custom_tool_call_output', call_id: 'c1', output }]),
    await countMessages([{ type: 'function_call_output', call_id: 'c1', output }]),
  );
});
