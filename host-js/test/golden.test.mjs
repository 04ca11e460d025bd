// The golden corpus in Node: every case gives the bytes the native engine gives (the expected
// files are blessed from it), and the token counts agree with the native tokenizer.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { compress, compressBody, compressContent, retrieveTool } from '../dist/index.js';
import { goldenCases, HEADROOM_BIN, messagesCases, retrieveToolCases } from './support.mjs';

const cases = goldenCases();

test('the corpus has both kinds of case', () => {
  assert.ok(cases.length >= 16, `${cases.length} cases`);
  assert.ok(cases.some((c) => c.dialect) && cases.some((c) => !c.dialect));
});

for (const c of cases) {
  test(`golden ${c.name}: the blessed expected bytes`, async () => {
    let out;
    if (c.dialect) {
      out = Buffer.from((await compressBody(new Uint8Array(c.input), { dialect: c.dialect, ...c.options })).body);
    } else {
      const r = await compressContent(c.input.toString('utf8'), { ...c.options, fallback: false });
      out = Buffer.from(r.text, 'utf8');
    }
    if (!out.equals(c.expected)) {
      let i = 0;
      while (i < out.length && out[i] === c.expected[i]) i++;
      assert.fail(`${c.name}: differs from the expected bytes at byte ${i}`);
    }
  });
}

// `headroom compress` runs the same component in wasmtime with the native o200k counter and
// prints its counts: the JS counter must report the very same numbers.
test('token counts equal the native counter on every text case', async () => {
  for (const c of cases.filter((x) => !x.dialect)) {
    const args = ['compress', '-', '--dialect', 'text', '--mode', c.options.mode];
    if (c.options.query !== undefined) args.push('--query', c.options.query);
    if (c.options.minTokens !== undefined) args.push('--min-tokens', String(c.options.minTokens));
    if (c.options.offloadBatchTokens !== undefined) args.push('--offload-batch-tokens', String(c.options.offloadBatchTokens));
    const run = spawnSync(HEADROOM_BIN, args, { input: c.input, stdio: ['pipe', 'ignore', 'pipe'] });
    assert.equal(run.status, 0, `headroom compress failed: ${run.stderr}`);
    const stderr = run.stderr.toString();
    const m = /tokens (\d+) -> (\d+)/.exec(stderr);
    assert.ok(m, `no counts in: ${stderr}`);
    const r = await compressContent(c.input.toString('utf8'), { ...c.options, fallback: false });
    assert.deepEqual([r.tokensBefore, r.tokensAfter], [Number(m[1]), Number(m[2])], c.name);
  }
});

// Independent of the blessed files: for every case, the bytes equal what the native host
// (`headroom compress`: the component in wasmtime, the native counter) produces right now.
test('every golden case equals the native host’s output byte for byte', async () => {
  for (const c of cases) {
    const flag = { 'anthropic-messages': 'anthropic', 'openai-chat': 'openai-chat', 'openai-responses': 'openai-responses' }[c.dialect] ?? 'text';
    const args = ['compress', '-', '--dialect', flag, '--mode', c.options.mode];
    if (!c.dialect && c.options.query !== undefined) args.push('--query', c.options.query);
    if (c.options.minTokens !== undefined) args.push('--min-tokens', String(c.options.minTokens));
    if (c.options.offloadBatchTokens !== undefined) args.push('--offload-batch-tokens', String(c.options.offloadBatchTokens));
    const run = spawnSync(HEADROOM_BIN, args, { input: c.input, maxBuffer: 64 << 20 });
    assert.equal(run.status, 0, `headroom compress failed: ${run.stderr}`);
    const js = c.dialect
      ? Buffer.from((await compressBody(new Uint8Array(c.input), { dialect: c.dialect, ...c.options })).body)
      : Buffer.from((await compressContent(c.input.toString('utf8'), { ...c.options, fallback: false })).text, 'utf8');
    assert.ok(js.equals(run.stdout), `${c.name}: JS and native outputs differ`);
  }
});

// tests/golden-messages: a bare list through `compress` (the component's `compress-messages`)
// gives the outcome the native engine gives, format and figures included.
for (const c of messagesCases()) {
  test(`golden messages ${c.name}: the blessed outcome`, async () => {
    const r = await compress(c.input, { ...c.options, store: false, fallback: false });
    assert.deepEqual(
      {
        format: r.format, messages: r.messages, tokens_before: r.tokensBefore, tokens_after: r.tokensAfter,
        transforms_applied: r.transformsApplied, ccr_hashes: r.ccrHashes,
      },
      c.expected,
    );
  });
}

// tests/golden-retrieve-tool: the definitions `retrieveTool` hands out are the engine's bytes.
test('golden retrieve-tool: every format, the blessed definition', async () => {
  const files = retrieveToolCases();
  for (const [format, dialect] of [['anthropic', 'anthropic-messages'], ['openai', 'openai-chat'], ['openai-responses', 'openai-responses']]) {
    const tool = await retrieveTool(format);
    assert.equal(JSON.stringify(tool), files[dialect], format);
  }
});
