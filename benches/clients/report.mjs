// Tokens upstream, direct vs through the proxy, from the request bodies record.sh kept
// (OUT/<client>/<direct|proxy-MODE>/requests/NNN.body). Exact o200k counts (gpt-tokenizer).
// "prefix kept": consecutive model requests whose conversation (messages / input items, system,
// tools) starts with everything the previous request sent, so the provider's prompt cache hits.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(join(process.env.NODE_PATH ?? '.', 'x.js'));
const { countTokens } = require('gpt-tokenizer/encoding/o200k_base');
const out = process.argv[2];

function requests(dir) {
  const reqs = join(dir, 'requests');
  if (!existsSync(reqs)) return [];
  return readdirSync(reqs)
    .filter((f) => f.endsWith('.meta.json'))
    .sort()
    .map((f) => {
      const meta = JSON.parse(readFileSync(join(reqs, f), 'utf8'));
      const body = readFileSync(join(reqs, f.replace('.meta.json', '.body')), 'utf8');
      return { meta, body };
    })
    .filter(({ meta }) => /\/v1\/(messages|responses)(\?|$)/.test(meta.path));
}

function conversation(body) {
  const j = JSON.parse(body);
  const items = j.messages ?? j.input ?? [];
  return { items: items.map((m) => JSON.stringify(m)), head: JSON.stringify([j.system ?? null, j.tools ?? null]) };
}

function measure(dir) {
  const reqs = requests(dir);
  let tokens = 0;
  let kept = 0;
  let prev = null;
  for (const { body } of reqs) {
    tokens += countTokens(body);
    const c = conversation(body);
    if (prev) {
      const same = prev.head === c.head && prev.items.every((m, i) => c.items[i] === m);
      if (same) kept += 1;
    }
    prev = c;
  }
  return { n: reqs.length, tokens, kept, pairs: Math.max(0, reqs.length - 1) };
}

const rows = [];
for (const client of readdirSync(out).filter((d) => existsSync(join(out, d, 'direct')))) {
  const direct = measure(join(out, client, 'direct'));
  for (const mode of ['cache', 'token']) {
    const p = measure(join(out, client, `proxy-${mode}`));
    const delta = (100 * (p.tokens - direct.tokens)) / Math.max(1, direct.tokens);
    rows.push(
      `| ${client} | ${mode} | ${direct.n} / ${p.n} | ${direct.tokens} | ${p.tokens} | ${delta >= 0 ? '+' : ''}${delta.toFixed(1)}% | ${p.kept}/${p.pairs} |`,
    );
  }
}
console.log('| client | mode | model requests (direct / proxy) | tokens upstream, direct | through the proxy | vs direct | prefix kept |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
