// The README's first examples (the ones that need no provider account) run as written.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { HOST_JS } from './support.mjs';

const blocks = [...readFileSync(join(HOST_JS, 'README.md'), 'utf8').matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);

// Written inside the package so `headroom-ai` resolves to it by name, as it would for a user.
function run(code) {
  const file = join(HOST_JS, `.readme-example-${process.pid}.mjs`);
  writeFileSync(file, code);
  try {
    return execFileSync('node', [file], { cwd: HOST_JS, encoding: 'utf8' });
  } finally {
    rmSync(file, { force: true });
  }
}

test('compress a conversation', () => {
  const out = run(blocks[0]);
  const [before, , after] = out.split('\n')[0].split(' ');
  assert.ok(Number(after) < Number(before), out);
  assert.match(out, /h:[0-9a-f]{24}/);
});

test('compress one tool output', () => {
  const out = run(blocks[1]);
  assert.match(out, /ERROR worker-2 job 401 failed: connection timeout/);
  assert.match(out, /headroom_retrieve\("h:[0-9a-f]{24}"\)/);
  assert.match(out, /^log /m);
  assert.match(out, /true\n$/);
});
