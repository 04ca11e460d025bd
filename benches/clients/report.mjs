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

// Claude Code moves its `cache_control` breakpoint to the newest block every turn; the cached
// prefix is the content, so breakpoints are left out of the comparison.
const strip = (v) =>
  Array.isArray(v)
    ? v.map(strip)
    : v && typeof v === 'object'
      ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'cache_control').map(([k, x]) => [k, strip(x)]))
      : v;

function conversation(body) {
  const j = strip(JSON.parse(body));
  const items = j.messages ?? j.input ?? [];
  return { items: items.map((m) => JSON.stringify(m)), head: JSON.stringify([j.system ?? null, j.tools ?? null]) };
}

// The log's error lines (tests/clients/workdir/postgresql.log), by a part that reads the same raw
// and JSON-escaped; counted in the last model request of a run (occurrences: the log's lines are
// shown by several tools).
const ERRORS = [
  'ERROR:  duplicate key value violates unique constraint',
  'ERROR:  division by zero',
  'does not exist at character 15',
  'ERROR:  syntax error at or near',
  'WARNING:  there is no transaction in progress',
  'FATAL:  database',
];
const occurrences = (body) => ERRORS.reduce((n, e) => n + body.split(e).length - 1, 0);

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
  const errors = reqs.length ? occurrences(reqs[reqs.length - 1].body) : 0;
  return { n: reqs.length, tokens, kept, pairs: Math.max(0, reqs.length - 1), errors };
}

const rows = [];
for (const client of readdirSync(out).filter((d) => existsSync(join(out, d, 'direct')))) {
  const direct = measure(join(out, client, 'direct'));
  for (const mode of ['cache', 'token']) {
    const p = measure(join(out, client, `proxy-${mode}`));
    const delta = (100 * (p.tokens - direct.tokens)) / Math.max(1, direct.tokens);
    rows.push(
      `| ${client} | ${mode} | ${direct.n} / ${p.n} | ${direct.tokens} | ${p.tokens} | ${delta >= 0 ? '+' : ''}${delta.toFixed(1)}% | ${direct.kept}/${direct.pairs} | ${p.kept}/${p.pairs} | ${direct.errors} / ${p.errors} |`,
    );
  }
}
console.log('| client | mode | model requests (direct / proxy) | tokens upstream, direct | through the proxy | vs direct | prefix kept, direct | prefix kept, proxy | error lines in the last request (direct / proxy) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
