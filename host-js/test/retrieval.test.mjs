// The retrieval store's bounds, the tool definitions, and the handler in all three shapes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compress, handleRetrieveCall, isRetrieveCall, RetrievalStore, RETRIEVE_TOOL_NAME, retrieveTool } from '../dist/index.js';
import { chatConversation } from './support.mjs';

test('the store evicts the least recently used entry past its entry limit', () => {
  const s = new RetrievalStore({ maxEntries: 2 });
  s.put('h:a', 'A');
  s.put('h:b', 'B');
  assert.equal(s.get('h:a'), 'A'); // a is now the most recent
  s.put('h:c', 'C');
  assert.equal(s.get('h:b'), undefined);
  assert.deepEqual([s.get('h:a'), s.get('h:c'), s.size], ['A', 'C', 2]);
});

test('the store is bounded by characters, and refuses an original larger than itself', () => {
  const s = new RetrievalStore({ maxChars: 10 });
  s.put('h:a', '12345');
  s.put('h:b', '123456');
  assert.equal(s.has('h:a'), false);
  assert.equal(s.chars, 6);
  s.put('h:big', 'x'.repeat(11));
  assert.equal(s.has('h:big'), false);
  assert.equal(s.get('h:b'), '123456');
  s.put('h:b', '1');
  assert.equal(s.chars, 1);
});

test('keys are found with or without their prefix and quotes', () => {
  const s = new RetrievalStore();
  s.put('h:0123456789abcdef01234567', 'original');
  for (const k of ['h:0123456789abcdef01234567', '0123456789abcdef01234567', '"h:0123456789abcdef01234567"']) {
    assert.equal(s.get(k), 'original', k);
  }
});

test('tool definitions in each provider shape', async () => {
  assert.equal(RETRIEVE_TOOL_NAME, 'headroom_retrieve');
  const anthropic = await retrieveTool('anthropic');
  const openai = await retrieveTool('openai');
  const responses = await retrieveTool('openai-responses');
  assert.equal(anthropic.name, RETRIEVE_TOOL_NAME);
  assert.deepEqual(anthropic.input_schema.required, ['hash']);
  assert.equal(openai.type, 'function');
  assert.equal(openai.function.name, RETRIEVE_TOOL_NAME);
  assert.equal(responses.name, RETRIEVE_TOOL_NAME);
  assert.deepEqual(responses.parameters, openai.function.parameters);
  assert.deepEqual(anthropic.input_schema, openai.function.parameters);
  await assert.rejects(retrieveTool('gemini'), /unknown format/);
});

test('the handler answers a marker key from a real compression in all three shapes', async () => {
  const store = new RetrievalStore();
  const r = await compress(chatConversation(), { store });
  const key = r.ccrHashes[0];
  const original = store.get(key);
  assert.ok(original);

  const a = await handleRetrieveCall({ type: 'tool_use', id: 'tu_9', name: RETRIEVE_TOOL_NAME, input: { hash: key } }, store);
  assert.deepEqual(a, { type: 'tool_result', tool_use_id: 'tu_9', content: original });

  const o = await handleRetrieveCall({ id: 'call_9', type: 'function', function: { name: RETRIEVE_TOOL_NAME, arguments: JSON.stringify({ hash: key }) } }, store);
  assert.deepEqual(o, { role: 'tool', tool_call_id: 'call_9', content: original });

  const p = await handleRetrieveCall({ type: 'function_call', call_id: 'fc_9', name: RETRIEVE_TOOL_NAME, arguments: JSON.stringify({ hash: key }) }, store);
  assert.deepEqual(p, { type: 'function_call_output', call_id: 'fc_9', output: original });
});

test('an unknown key or bad arguments get an answer the model can act on', async () => {
  const store = new RetrievalStore();
  const a = await handleRetrieveCall({ type: 'tool_use', id: 't', name: RETRIEVE_TOOL_NAME, input: { hash: 'h:ffffffffffffffffffffffff' } }, store);
  assert.equal(a.is_error, true);
  assert.match(a.content, /No original is stored under h:ffffffffffffffffffffffff/);
  const o = await handleRetrieveCall({ id: 'c', type: 'function', function: { name: RETRIEVE_TOOL_NAME, arguments: 'not json' } }, store);
  assert.match(o.content, /needs \{"hash"/);
});

test('other tool calls are not the handler’s', async () => {
  const call = { type: 'tool_use', id: 't', name: 'bash', input: {} };
  assert.equal(isRetrieveCall(call), false);
  await assert.rejects(handleRetrieveCall(call), { name: 'HeadroomError', kind: 'invalid_input' });
});
