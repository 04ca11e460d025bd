// `npm pack`, installed into an empty folder, used from plain JavaScript and from TypeScript.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { golden, HOST_JS } from './support.mjs';

const work = mkdtempSync(join(tmpdir(), 'headroom-pack-'));
const app = join(work, 'app');
let tarball;

before(() => {
  const out = execFileSync('npm', ['pack', '--pack-destination', work, '--json'], { cwd: HOST_JS, encoding: 'utf8' });
  tarball = join(work, JSON.parse(out)[0].filename);
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], { cwd: app, stdio: 'pipe' });
});
after(() => rmSync(work, { recursive: true, force: true }));

test('the tarball is under 3 MB and carries the component', () => {
  const size = statSync(tarball).size;
  assert.ok(size <= 3 * 1024 * 1024, `${size} bytes`);
  const list = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' });
  assert.match(list, /package\/gen\/headroom-core\.core\.wasm/);
  assert.match(list, /package\/dist\/index\.d\.ts/);
  assert.doesNotMatch(list, /package\/(src|test|node_modules)\//);
});

test('plain JavaScript in an empty project', () => {
  const input = golden('content-log-parity');
  writeFileSync(join(app, 'input.txt'), input.input);
  writeFileSync(join(app, 'main.mjs'), `
import { readFileSync } from 'node:fs';
import { compress, compressContent, retrieve } from 'headroom-ai';
const text = readFileSync(new URL('./input.txt', import.meta.url), 'utf8');
const c = await compressContent(text);
const r = await compress([{ role: 'user', content: 'why?' }, { role: 'tool', tool_call_id: 'x', content: text }]);
process.stdout.write(JSON.stringify({ text: c.text, saved: c.tokensSaved, hashes: r.ccrHashes, back: retrieve(c.ccrHashes[0]) === text }));
`);
  const out = JSON.parse(execFileSync('node', ['main.mjs'], { cwd: app, encoding: 'utf8' }));
  assert.equal(out.text, input.expected.toString('utf8'));
  assert.ok(out.saved > 0);
  assert.ok(out.hashes.length > 0);
  assert.equal(out.back, true);
});

test('TypeScript: the types check and the compiled program runs', () => {
  writeFileSync(join(app, 'main.ts'), `
import { compress, HeadroomClient, HeadroomError, retrieveTool, withHeadroom, type CompressResult } from 'headroom-ai';
type Msg = { role: 'user' | 'assistant' | 'tool'; content: string; tool_call_id?: string };
const messages: Msg[] = [{ role: 'user', content: 'hello' }];
const r: CompressResult<Msg> = await compress(messages, { model: 'gpt-4o', mode: 'cache' });
const first: Msg = r.messages[0];
const client = new HeadroomClient({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 100 });
const wrapped: { x: number } = withHeadroom({ x: 1 });
const kind: 'invalid_input' | 'declined' | 'engine_fault' | 'network' = new HeadroomError('network', 'x').kind;
console.log(JSON.stringify({ role: first.role, saved: r.tokensSaved, url: client.baseUrl, x: wrapped.x, kind, tool: (await retrieveTool('anthropic')).name }));
`);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, lib: ['ES2022', 'DOM'], types: [], outDir: 'out' },
    files: ['main.ts'],
  }));
  execFileSync(join(HOST_JS, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: app, stdio: 'pipe' });
  const out = JSON.parse(execFileSync('node', ['out/main.js'], { cwd: app, encoding: 'utf8' }));
  assert.deepEqual(out, { role: 'user', saved: 0, url: 'http://127.0.0.1:1', x: 1, kind: 'network', tool: 'headroom_retrieve' });
});

test('a type error in user code is caught by the package types', () => {
  writeFileSync(join(app, 'bad.ts'), `import { compress } from 'headroom-ai';\nawait compress([], { mode: 'fastest' });\n`);
  writeFileSync(join(app, 'tsconfig.bad.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, lib: ['ES2022', 'DOM'], types: [], noEmit: true },
    files: ['bad.ts'],
  }));
  assert.throws(
    () => execFileSync(join(HOST_JS, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.bad.json'], { cwd: app, stdio: 'pipe' }),
    (e) => /fastest/.test(String(e.stdout)),
  );
});
