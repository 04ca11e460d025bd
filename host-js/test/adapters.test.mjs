// withHeadroom around the official `openai` and `@anthropic-ai/sdk` clients, pointed at a
// recording mock of the providers: what reaches the provider is what the engine produced.
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { compress, withHeadroom } from '../dist/index.js';
import { anthropicConversation, chatConversation, responsesConversation, startMockUpstream } from './support.mjs';

let mock;
let openai;
let anthropic;
const seen = [];

before(async () => {
  mock = await startMockUpstream();
  const onCompress = (result, call) => seen.push({ result, call });
  openai = withHeadroom(new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'sk-test', maxRetries: 0 }), { onCompress });
  anthropic = withHeadroom(new Anthropic({ baseURL: mock.url, apiKey: 'sk-ant-test', maxRetries: 0 }), { onCompress });
});
after(() => mock.close());

const last = () => mock.requests.at(-1);

test('chat.completions.create sends the compressed messages', async () => {
  const messages = chatConversation();
  const expected = await compress(messages, { model: 'gpt-4o', store: false });
  assert.ok(expected.compressed);
  const r = await openai.chat.completions.create({ model: 'gpt-4o', messages, temperature: 0 });
  assert.equal(r.choices[0].message.content, 'mock answer');
  assert.equal(last().url, '/v1/chat/completions');
  assert.deepEqual(last().body.messages, expected.messages);
  assert.equal(last().body.model, 'gpt-4o');
  assert.equal(last().body.temperature, 0);
  assert.equal(last().headers.authorization, 'Bearer sk-test');
  assert.equal(seen.at(-1).call, 'chat.completions.create');
  assert.ok(seen.at(-1).result.tokensSaved > 0);
});

test('chat.completions.create with stream: true streams, compressed', async () => {
  const messages = chatConversation();
  const stream = await openai.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
  let text = '';
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.equal(text, 'mock answer');
  assert.equal(chunks, 3);
  assert.equal(last().body.stream, true);
  assert.deepEqual(last().body.messages, (await compress(messages, { store: false })).messages);
});

test('withResponse() still works on a wrapped create', async () => {
  const { data, response } = await openai.chat.completions.create({ model: 'gpt-4o', messages: chatConversation() }).withResponse();
  assert.equal(data.choices[0].message.content, 'mock answer');
  assert.equal(response.status, 200);
});

test('responses.create compresses Responses input items, streaming too', async () => {
  const input = responsesConversation();
  const expected = await compress(input, { format: 'openai-responses', store: false });
  assert.ok(expected.compressed);
  const r = await openai.responses.create({ model: 'gpt-4o', input });
  assert.equal(r.output_text, 'mock answer');
  assert.deepEqual(last().body.input, expected.messages);

  const stream = await openai.responses.create({ model: 'gpt-4o', input, stream: true });
  const types = [];
  for await (const event of stream) types.push(event.type);
  assert.deepEqual(types, ['response.created', 'response.output_text.delta', 'response.completed']);
  assert.deepEqual(last().body.input, expected.messages);
});

test('a string input or a small conversation is sent exactly as given', async () => {
  await openai.responses.create({ model: 'gpt-4o', input: 'just a question' });
  assert.equal(last().body.input, 'just a question');
  const messages = [{ role: 'user', content: 'hello' }];
  await openai.chat.completions.create({ model: 'gpt-4o', messages });
  assert.deepEqual(last().body, { model: 'gpt-4o', messages });
});

test('everything else on the OpenAI client is left alone', async () => {
  const models = await openai.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['mock-model']);
  assert.equal(last().method, 'GET');
  assert.equal(last().url, '/v1/models');
  assert.equal(typeof openai.embeddings.create, 'function');
  assert.equal(openai.baseURL, `${mock.url}/v1`);
});

test('messages.create sends the compressed Anthropic messages', async () => {
  const messages = anthropicConversation();
  const expected = await compress(messages, { model: 'claude-sonnet-4-5', store: false });
  assert.ok(expected.compressed);
  const r = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, system: 'Be brief.', messages });
  assert.equal(r.content[0].text, 'mock answer');
  assert.equal(last().url, '/v1/messages');
  assert.deepEqual(last().body.messages, expected.messages);
  assert.equal(last().body.system, 'Be brief.');
  assert.equal(last().body.max_tokens, 100);
  const h = last().headers;
  assert.ok(h['x-api-key'] === 'sk-ant-test' || h.authorization === 'Bearer sk-ant-test', JSON.stringify(h));
  assert.equal(seen.at(-1).call, 'messages.create');
});

test('messages.create with stream: true streams, compressed', async () => {
  const messages = anthropicConversation();
  const stream = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages, stream: true });
  let text = '';
  for await (const event of stream) {
    if (event.type === 'content_block_delta') text += event.delta.text;
  }
  assert.equal(text, 'mock answer');
  assert.equal(last().body.stream, true);
  assert.deepEqual(last().body.messages, (await compress(messages, { store: false })).messages);
});

test('a compression failure never fails the call: the original body goes', async () => {
  // Not a list of objects: the engine refuses it, and the provider gets to say what is wrong.
  const messages = ['not a message'];
  await openai.chat.completions.create({ model: 'gpt-4o', messages });
  assert.deepEqual(last().body.messages, ['not a message']);
});
