// Plugin hop in the npm package against the native host, measured in one run: the JS host's
// call to a plugin that declines at once (a fresh instance, the block copied in, the answer
// copied out), redact-secrets itself, and the engine call with and without it as a filter, for a
// 1 KB and a 100 KB block; the native figures come from the plugins benchmark binary run right
// before (same blocks, same fixture). Plugin load time in Node too. Writes Markdown (--out FILE).
// Run by `just bench-js-plugins` (needs `just component plugins` and the package built).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = join(ROOT, 'host-js/dist');
const { createCompressor, compressContent, loadEngine } = await import(join(DIST, 'index.js'));
const { loadPlugin } = await import(join(DIST, 'plugins/load.js'));
const { callPlugin } = await import(join(DIST, 'plugins/set.js'));
const { loadAdmission } = await import(join(DIST, 'engine.js'));
const ROUNDS = 41;
const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : undefined;
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** The native benchmark's `log_block` (benches/src/bin/plugins.rs), byte for byte. */
function logBlock(first, bytes) {
  let s = `${first}\n`;
  for (let i = 0; s.length < bytes; i++) {
    const p = (n) => String(n).padStart(2, '0');
    s += `2026-11-02 10:${p(Math.floor(i / 60) % 60)}:${p(i % 60)} INFO worker-${i % 7} served /api/v1/items/${(i * 37) % 1000} in ${i % 91} ms\n`;
  }
  return s.slice(0, bytes);
}

/** Median µs of `f` over ROUNDS runs, after one warm-up. */
async function time(f) {
  await f();
  const v = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    await f();
    v.push((performance.now() - t) * 1000);
  }
  return median(v);
}

// Native first (same machine, same run): the plugins benchmark binary's tables.
const nativeOut = join(ROOT, 'target/bench-js-plugins/native.md');
mkdirSync(dirname(nativeOut), { recursive: true });
execFileSync('cargo', ['run', '-q', '--release', '-p', 'headroom-benches', '--bin', 'plugins', '--', '--out', nativeOut], {
  cwd: ROOT,
  stdio: ['ignore', 'ignore', 'inherit'],
});
const native = readFileSync(nativeOut, 'utf8');
const row = (table, label) => {
  const line = native.split('\n').filter((l) => l.startsWith(`| ${label} |`))[table];
  return line.split('|').slice(2, -1).map((c) => Number(c.trim()));
};

await loadEngine();
const rules = await loadAdmission();
const plugin = (id) => join(ROOT, id === 'faulty' ? 'target/plugin-fixtures/faulty' : `target/plugins/${id}`);
let t = performance.now();
const faulty = await loadPlugin(plugin('faulty'));
const redact = await loadPlugin(plugin('redact-secrets'));
const loadMs = performance.now() - t;
t = performance.now();
const compressor = await createCompressor({ plugins: [plugin('redact-secrets')] });
const compressorMs = performance.now() - t;
const context = { query: undefined, lossy: true };

const rows = [];
for (const [i, size] of [1 << 10, 100 << 10].entries()) {
  const label = `${size >> 10} KB`;
  const noop = rules.selfTestBlock(logBlock('NOOP', size));
  const text = logBlock('token: sk_live_4eC39HqLyjWDarjtT1zdp7dc', size);
  const block = rules.selfTestBlock(text);
  const hop = await time(() => callPlugin(faulty, noop, { tag: 'log' }, context));
  const redactCall = await time(() => callPlugin(redact, block, { tag: 'log' }, context));
  const opts = { fallback: false };
  const plain = await time(() => compressContent(text, opts));
  const withPlugin = await time(() => compressor.compressContent(text, opts));
  const [nHop, nRedact] = row(0, label);
  const [nPlain, nWith] = row(1, label);
  rows.push({ label, hop, nHop, redactCall, nRedact, plain, withPlugin, nPlain, nWith });
  void i;
}

const f = (x) => x.toFixed(1);
const r = (a, b) => `${(a / b).toFixed(1)}x`;
let md = `# Plugins in the npm package: the hop per call, Node vs native\n\n`;
md += `Machine: ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB RAM), load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end: a noisy shared machine. Node ${process.version}. Medians of ${ROUNDS} runs. Native figures from \`target/release/plugins\` (wasmtime, the same fixture and blocks), run in the same invocation just before. Command: \`just bench-js-plugins\`.\n\n`;
md += `The hop is a call to a plugin that declines at once (the \`faulty\` fixture's \`NOOP\`): in Node a fresh \`WebAssembly.Instance\` of the plugin's precompiled core module under jco's glue, the block copied in, the answer copied out; natively a fresh instance from wasmtime's pool. The engine call is \`compressContent\` through the core component, with redact-secrets as a \`before\` filter and without.\n\n`;
md += `## Per call\n\n| block | hop in Node, µs | hop native, µs | ratio | redact-secrets in Node, µs | natively (wasmtime), µs | ratio |\n|---|---|---|---|---|---|---|\n`;
for (const x of rows) md += `| ${x.label} | ${f(x.hop)} | ${f(x.nHop)} | ${r(x.hop, x.nHop)} | ${f(x.redactCall)} | ${f(x.nRedact)} | ${r(x.redactCall, x.nRedact)} |\n`;
md += `\n## Engine call (\`compressContent\`)\n\n| block | Node, no plugin, µs | Node, with redact-secrets, µs | Node difference, µs | native difference, µs |\n|---|---|---|---|---|\n`;
for (const x of rows) md += `| ${x.label} | ${f(x.plain)} | ${f(x.withPlugin)} | ${f(x.withPlugin - x.plain)} | ${f(x.nWith - x.nPlain)} |\n`;
md += `\n## Load in Node\n\n| what | ms |\n|---|---|\n| two plugins verified (read, sha256, admission in the engine, compile, self-test), engine warm | ${f(loadMs)} |\n| \`createCompressor\` with redact-secrets, engine warm | ${f(compressorMs)} |\n`;
if (out) {
  writeFileSync(out, md);
  console.log(`wrote ${out}`);
} else {
  console.log(md);
}
