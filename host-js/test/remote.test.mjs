// HeadroomClient against the real `headroom proxy` binary: same results as local compression
// (the proxy runs the same component with the native counter), retrieval, typed errors.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { compress, handleRetrieveCall, HeadroomClient, RETRIEVE_TOOL_NAME, withHeadroom } from '../dist/index.js';
import { anthropicConversation, chatConversation, goldenCases, responsesConversation, startMockUpstream, startProxy } from './support.mjs';

let proxy;
let keyed;
let mock;

before(async () => {
  mock = await startMockUpstream();
  proxy = await startProxy({ upstream: mock.url });
  keyed = await startProxy({ upstream: mock.url, env: { HEADROOM_API_KEY: 'team-key' } });
});
after(async () => {
  await Promise.all([proxy?.stop(), keyed?.stop()]);
  await mock?.close();
});

test('remote compress equals local compress, figures included (OpenAI and Anthropic)', async () => {
  const client = new HeadroomClient({ baseUrl: proxy.url });
  for (const messages of [chatConversation(), anthropicConversation()]) {
    const local = await compress(messages, { store: false });
    const remote = await client.compress(messages);
    assert.ok(remote.compressed);
    assert.equal(remote.format, local.format);
    assert.deepEqual(remote.messages, local.messages);
    assert.deepEqual(
      [remote.tokensBefore, remote.tokensAfter, remote.tokensSaved, remote.transformsApplied, remote.ccrHashes],
      [local.tokensBefore, local.tokensAfter, local.tokensSaved, local.transformsApplied, local.ccrHashes],
    );
    assert.equal(remote.compressionRatio, local.compressionRatio);
  }
});

test('the JS counter agrees with the proxy’s native counter on every golden text', async () => {
  const client = new HeadroomClient({ baseUrl: proxy.url });
  for (const c of goldenCases()) {
    // The whole input as one user message: the proxy counts it natively, unchanged.
    const messages = [{ role: 'user', content: c.input.toString('utf8') }];
    const local = await compress(messages, { store: false });
    const remote = await client.compress(messages);
    assert.equal(remote.tokensBefore, local.tokensBefore, c.name);
  }
});

test('mode token is passed to the proxy', async () => {
  const client = new HeadroomClient({ baseUrl: proxy.url });
  const turns = JSON.parse(goldenCases().find((c) => c.name === 'request-openai-chat-token').input).messages;
  const remote = await client.compress(turns, { mode: 'token' });
  const local = await compress(turns, { mode: 'token', store: false });
  assert.deepEqual(remote.messages, local.messages);
  assert.ok(remote.tokensSaved > 0);
});

test('originals are retrieved from the proxy, and the tool handler can use the client', async () => {
  const client = new HeadroomClient({ baseUrl: proxy.url });
  const r = await client.compress(chatConversation());
  const key = r.ccrHashes[0];
  const original = await client.retrieve(key);
  assert.ok(original && chatConversation().some((m) => m.content?.includes(original.slice(0, 100))));
  assert.equal(await client.retrieve('h:ffffffffffffffffffffffff'), undefined);
  const answer = await handleRetrieveCall({ type: 'tool_use', id: 't1', name: RETRIEVE_TOOL_NAME, input: { hash: key } }, client);
  assert.equal(answer.content, original);
});

test('an API key: right key works, no key or a wrong one is declined (401)', async () => {
  const ok = await new HeadroomClient({ baseUrl: keyed.url, apiKey: 'team-key' }).compress(chatConversation());
  assert.ok(ok.compressed, String(ok.error));
  for (const apiKey of [undefined, 'wrong']) {
    const client = new HeadroomClient({ baseUrl: keyed.url, apiKey });
    await assert.rejects(client.compress(chatConversation()), (e) => {
      assert.equal(e.name, 'HeadroomError');
      assert.equal(e.kind, 'declined');
      assert.equal(e.status, 401);
      assert.match(e.message, /API key/);
      assert.ok(Array.isArray(e.messages));
      return true;
    });
  }
});

test('Responses items compress on the proxy as locally, `output` items counted', async () => {
  const client = new HeadroomClient({ baseUrl: proxy.url });
  const items = responsesConversation();
  const local = await compress(items, { store: false });
  const remote = await client.compress(items);
  assert.equal(local.format, 'openai-responses');
  assert.equal(remote.format, 'openai-responses');
  assert.ok(remote.compressed);
  assert.deepEqual(remote.messages, local.messages);
  assert.deepEqual(
    [remote.tokensBefore, remote.tokensAfter, remote.transformsApplied, remote.ccrHashes],
    [local.tokensBefore, local.tokensAfter, local.transformsApplied, local.ccrHashes],
  );
  // A tool output alone is counted: the figure is not the messages' contents only.
  const output = [{ type: 'function_call_output', call_id: 'x', output: 'one two three' }];
  assert.ok((await client.compress(output)).tokensBefore > 0);
});

test('an unreachable proxy is a network error: originals back by default, thrown on request', async () => {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  await new Promise((r) => server.close(r));
  const client = new HeadroomClient({ baseUrl: `http://127.0.0.1:${port}`, retries: 0 });
  const messages = chatConversation();
  const r = await client.compress(messages);
  assert.strictEqual(r.messages, messages);
  assert.equal(r.compressed, false);
  assert.equal(r.error.kind, 'network');
  await assert.rejects(client.compress(messages, { fallback: false }), (e) => e.kind === 'network' && e.messages === messages);
});

test('a proxy that does not answer in time is a network error after the timeout, retried', async () => {
  let hits = 0;
  const server = createServer(() => { hits++; }); // never answers
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const client = new HeadroomClient({ baseUrl: `http://127.0.0.1:${server.address().port}`, timeoutMs: 200, retries: 1 });
    const t0 = Date.now();
    await assert.rejects(client.compress(chatConversation(), { fallback: false }), (e) => e.kind === 'network' && /200 ms/.test(e.message));
    assert.ok(Date.now() - t0 >= 400);
    assert.equal(hits, 2);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('a 5xx is an engine fault; the originals come back', async () => {
  const server = createServer((req, res) => {
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'the engine is still loading' } }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const client = new HeadroomClient({ baseUrl: `http://127.0.0.1:${server.address().port}` });
    const messages = chatConversation();
    const r = await client.compress(messages);
    assert.equal(r.error.kind, 'engine_fault');
    assert.equal(r.error.status, 503);
    assert.match(r.error.message, /still loading/);
    assert.strictEqual(r.messages, messages);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('an adapter can compress through the proxy', async () => {
  const client = new HeadroomClient({ baseUrl: proxy.url });
  const openai = withHeadroom(new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'sk-test', maxRetries: 0 }), { remote: client });
  const messages = chatConversation();
  await openai.chat.completions.create({ model: 'gpt-4o', messages });
  assert.deepEqual(mock.requests.at(-1).body.messages, (await compress(messages, { store: false })).messages);
});

/** Plain turns (nothing the engine rewrites), over gpt-4's 8 192-token window. */
function longChat() {
  const turn = (i) => Array.from({ length: 900 }, (_, j) => `t${i}w${(j * 7919 + i) % 10007}`).join(' ');
  const messages = Array.from({ length: 6 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: turn(i) }));
  return [...messages, { role: 'user', content: 'And now?' }];
}

/** A stand-in proxy that records each POST /v1/compress body and answers with the messages unchanged. */
async function recordingProxy() {
  const bodies = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (d) => { data += d; });
    req.on('end', () => {
      const body = JSON.parse(data);
      bodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        messages: body.messages, tokens_before: 1, tokens_after: 1, tokens_saved: 0, compression_ratio: 1,
        transforms_applied: [], ccr_hashes: [],
      }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, bodies, close: () => new Promise((r) => server.close(r)) };
}

test('the client sends exactly the fields /v1/compress reads: messages, model, format, mode, system', async () => {
  const rec = await recordingProxy();
  try {
    const client = new HeadroomClient({ baseUrl: rec.url });
    const messages = chatConversation();
    const r = await client.compress(messages, {
      model: 'gpt-4.1', mode: 'token', minTokens: 10, lossy: false, contextLimit: 1000, protectedTools: ['x'], system: 's',
      format: 'openai',
    });
    assert.deepEqual(rec.bodies.at(-1), { messages, model: 'gpt-4.1', format: 'openai', mode: 'token', system: 's' });
    assert.equal(r.compressed, false, 'messages came back as they were');
    // Nothing stated, nothing sent: the proxy's engine reads the format and applies no window.
    await client.compress(messages);
    assert.deepEqual(rec.bodies.at(-1), { messages });
    // A proxy that does not say which format it read: the engine's reading, locally.
    const pictures = [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA==' } }, { type: 'text', text: 'what?' }] }];
    assert.equal((await client.compress(pictures)).format, 'anthropic');
  } finally {
    await rec.close();
  }
});

test('remote: without a model no window applies; messages dropped for a known model are a change', async () => {
  const client = new HeadroomClient({ baseUrl: proxy.url });
  const messages = longChat();
  const none = await client.compress(messages);
  assert.deepEqual(none.messages, messages);
  assert.equal(none.compressed, false);
  assert.deepEqual(none.messages, (await compress(messages, { store: false })).messages);
  const gpt4 = await client.compress(messages, { model: 'gpt-4' });
  assert.deepEqual(gpt4.transformsApplied, []);
  assert.ok(gpt4.messages.length < messages.length);
  assert.equal(gpt4.compressed, true);
  assert.deepEqual(gpt4.messages, (await compress(messages, { model: 'gpt-4', store: false })).messages);
});
