// Shared by the tests: paths, the golden corpus, a recording mock upstream, and the real proxy.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HOST_JS = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(HOST_JS, '..');
export const GOLDEN = join(ROOT, 'tests/golden');
export const HEADROOM_BIN = join(ROOT, 'target/release/headroom');

const DIALECTS = { anthropic: 'anthropic-messages', 'openai-chat': 'openai-chat', 'openai-responses': 'openai-responses' };

/** Every golden case: { name, dialect?, options, input (Buffer), expected (Buffer) }. */
export function goldenCases() {
  return readdirSync(GOLDEN)
    .filter((n) => existsSync(join(GOLDEN, n, 'case.json')))
    .sort()
    .map((name) => {
      const meta = JSON.parse(readFileSync(join(GOLDEN, name, 'case.json'), 'utf8'));
      const dialect = DIALECTS[meta.dialect];
      const ext = dialect ? 'json' : 'txt';
      return {
        name,
        dialect,
        options: {
          mode: meta.mode === 'token' ? 'token' : 'cache',
          ...(meta.query !== undefined ? { query: meta.query } : {}),
          ...(meta.min_tokens !== undefined ? { minTokens: meta.min_tokens } : {}),
          ...(meta.offload_batch_tokens !== undefined ? { offloadBatchTokens: meta.offload_batch_tokens } : {}),
        },
        input: readFileSync(join(GOLDEN, name, `input.${ext}`)),
        expected: readFileSync(join(GOLDEN, name, `expected.${ext}`)),
      };
    });
}

/**
 * Every message-list case of tests/golden-messages: { name, options (for `compress`), input (the
 * messages), expected (the outcome: format, messages, tokens, transforms, keys) }.
 */
export function messagesCases() {
  const dir = join(ROOT, 'tests/golden-messages');
  return readdirSync(dir)
    .filter((n) => existsSync(join(dir, n, 'case.json')))
    .sort()
    .map((name) => {
      const meta = JSON.parse(readFileSync(join(dir, name, 'case.json'), 'utf8'));
      return {
        name,
        options: {
          mode: meta.mode === 'token' ? 'token' : 'cache',
          ...(meta.format !== undefined ? { format: meta.format } : {}),
          ...(meta.model !== undefined ? { model: meta.model } : {}),
          ...(meta.system !== undefined ? { system: meta.system } : {}),
          ...(meta.min_tokens !== undefined ? { minTokens: meta.min_tokens } : {}),
          ...(meta.offload_batch_tokens !== undefined ? { offloadBatchTokens: meta.offload_batch_tokens } : {}),
        },
        input: JSON.parse(readFileSync(join(dir, name, 'input.json'), 'utf8')),
        expected: JSON.parse(readFileSync(join(dir, name, 'expected.json'), 'utf8')),
      };
    });
}

/** The committed `headroom_retrieve` definitions: { [dialect]: JSON text }. */
export function retrieveToolCases() {
  const dir = join(ROOT, 'tests/golden-retrieve-tool');
  return Object.fromEntries(
    ['anthropic-messages', 'openai-chat', 'openai-responses'].map((d) => [d, readFileSync(join(dir, `${d}.json`), 'utf8')]),
  );
}

export function golden(name) {
  const c = goldenCases().find((g) => g.name === name);
  if (!c) throw new Error(`no golden case ${name}`);
  return c;
}

/**
 * A stand-in for the providers' APIs that records every request it receives. It answers Chat
 * Completions, Responses and Messages (plain JSON, or SSE when `stream` is set) and lists models.
 */
export async function startMockUpstream() {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
      requests.push({ method: req.method, url: req.url, headers: req.headers, raw, body });
      answer(req.method, req.url.split('?')[0], body, res);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, requests, close: () => new Promise((r) => server.close(r)) };
}

function sse(res, events) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const [event, data] of events) {
    res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }
  res.end();
}

function json(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

function answer(method, path, body, res) {
  if (method === 'GET' && path === '/v1/models') {
    return json(res, 200, { object: 'list', data: [{ id: 'mock-model', object: 'model', created: 0, owned_by: 'mock' }] });
  }
  if (method === 'POST' && path === '/v1/chat/completions') {
    if (body.stream) {
      const chunk = (delta, finish) => ({ id: 'c1', object: 'chat.completion.chunk', created: 0, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] });
      return sse(res, [[null, chunk({ role: 'assistant', content: 'mock ' }, null)], [null, chunk({ content: 'answer' }, null)], [null, chunk({}, 'stop')], [null, '[DONE]']]);
    }
    return json(res, 200, {
      id: 'c1', object: 'chat.completion', created: 0, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'mock answer' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    });
  }
  if (method === 'POST' && path === '/v1/responses') {
    const response = {
      id: 'r1', object: 'response', created_at: 0, model: body.model, status: 'completed',
      output: [{ type: 'message', id: 'm1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'mock answer', annotations: [] }] }],
    };
    if (body.stream) {
      return sse(res, [
        ['response.created', { type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', output: [] } }],
        ['response.output_text.delta', { type: 'response.output_text.delta', sequence_number: 1, item_id: 'm1', output_index: 0, content_index: 0, delta: 'mock answer' }],
        ['response.completed', { type: 'response.completed', sequence_number: 2, response }],
      ]);
    }
    return json(res, 200, response);
  }
  if (method === 'POST' && path === '/v1/messages') {
    const message = { id: 'msg1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'mock answer' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 2 } };
    if (body.stream) {
      return sse(res, [
        ['message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null } }],
        ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
        ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'mock ' } }],
        ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'answer' } }],
        ['content_block_stop', { type: 'content_block_stop', index: 0 }],
        ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } }],
        ['message_stop', { type: 'message_stop' }],
      ]);
    }
    return json(res, 200, message);
  }
  json(res, 404, { error: { message: `mock: no route ${method} ${path}` } });
}

/**
 * Start the real `headroom proxy` (target/release/headroom) on a free port. Resolves once
 * `/readyz` answers 200. `env` adds variables (HEADROOM_API_KEY, ...).
 */
export async function startProxy({ upstream = 'http://127.0.0.1:9', env = {}, args = [] } = {}) {
  if (!existsSync(HEADROOM_BIN)) {
    throw new Error(`${HEADROOM_BIN} is missing: cargo build --release -p headroom-proxy --bins`);
  }
  const child = spawn(HEADROOM_BIN, ['proxy', '--port', '0', '--openai-api-url', upstream, '--anthropic-api-url', upstream, ...args], {
    env: { ...process.env, HEADROOM_API_KEY: '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`headroom proxy did not start:\n${log}`)), 30_000);
    child.stderr.on('data', (d) => {
      log += d;
      const m = /listening on (\S+?)\s*\n/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1].replace(/\x1b\[[0-9;]*m/g, ''));
      }
    });
    child.on('exit', (code) => reject(new Error(`headroom proxy exited with ${code}:\n${log}`)));
  });
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    log: () => log,
    stop: () => new Promise((r) => {
      if (child.exitCode !== null) return r();
      child.once('exit', r);
      child.kill('SIGTERM');
    }),
  };
}

const LOG = () => golden('content-log-parity').input.toString('utf8');
const TRACE = () => golden('content-traceback').input.toString('utf8');
const QUESTION = 'The service keeps failing at start-up. Find out why.';

/** An OpenAI Chat conversation whose two tool outputs the engine rewrites with markers. */
export function chatConversation() {
  return [
    { role: 'system', content: 'You are a careful engineer.' },
    { role: 'user', content: QUESTION },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'bash', arguments: '{"command":"cat service.log"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: LOG() },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'bash', arguments: '{"command":"python test_im_I.py"}' } }] },
    { role: 'tool', tool_call_id: 'call_2', content: TRACE() },
  ];
}

/** The same conversation as Anthropic messages (tool_use / tool_result blocks). */
export function anthropicConversation() {
  return [
    { role: 'user', content: QUESTION },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'tu_1', name: 'bash', input: { command: 'cat service.log' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: LOG() }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'tu_2', name: 'bash', input: { command: 'python test_im_I.py' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_2', content: TRACE() }] },
  ];
}

/** The same conversation as Responses input items. */
export function responsesConversation() {
  return [
    { role: 'user', content: QUESTION },
    { type: 'function_call', call_id: 'fc_1', name: 'bash', arguments: '{"command":"cat service.log"}' },
    { type: 'function_call_output', call_id: 'fc_1', output: LOG() },
    { type: 'function_call', call_id: 'fc_2', name: 'bash', arguments: '{"command":"python test_im_I.py"}' },
    { type: 'function_call_output', call_id: 'fc_2', output: TRACE() },
  ];
}

/** What the native host (`headroom compress`, wasmtime + native counter) forwards for a body. */
export function nativeCompress(body, dialect, mode = 'cache') {
  const flag = { 'openai-chat': 'openai-chat', 'anthropic-messages': 'anthropic', 'openai-responses': 'openai-responses' }[dialect];
  const run = spawnSync(HEADROOM_BIN, ['compress', '-', '--dialect', flag, '--mode', mode], { input: body, maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`headroom compress failed: ${run.stderr}`);
  return run.stdout;
}
