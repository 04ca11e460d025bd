/// <reference types="vite/client" />
import * as headroom from 'headroom-ai';
import { compressContent, countTokens, createCompressor, loadEngine, type Compressor, type KindName } from 'headroom-ai';
import { highlight } from './markers';
import { samples } from './samples';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const sample = $<HTMLSelectElement>('sample');
const kind = $<HTMLSelectElement>('kind');
const query = $<HTMLInputElement>('query');
const input = $<HTMLTextAreaElement>('input');
const output = $<HTMLPreElement>('output');
const run = $<HTMLButtonElement>('run');
const redact = $<HTMLInputElement>('redact');
const status = $('status');
const fmt = new Intl.NumberFormat('en');

for (const s of samples) sample.add(new Option(s.label, s.id));
sample.add(new Option('(your own text)', ''));

function pick(): void {
  const s = samples.find((x) => x.id === sample.value);
  if (!s) return;
  input.value = s.text;
  query.value = s.query ?? '';
  $('original-size').textContent = `${fmt.format(new Blob([s.text]).size)} bytes`;
}
sample.addEventListener('change', pick);
input.addEventListener('input', () => {
  sample.value = '';
});

// The plugin is fetched, verified and self-tested the first time the box is ticked.
let redactor: Promise<Compressor> | undefined;
function withRedaction(): Promise<Compressor> {
  if (!redactor) {
    const t0 = performance.now();
    redactor = createCompressor({ plugins: [new URL('./plugins/redact-secrets/', document.baseURI)] });
    redactor.then(
      () => { status.textContent = `Plugin redact-secrets loaded and verified in ${(performance.now() - t0).toFixed(0)} ms.`; },
      (e: Error) => {
        redactor = undefined;
        status.textContent = `The plugin failed to load: ${e.message}`;
      },
    );
  }
  return redactor;
}
redact.addEventListener('change', () => {
  if (redact.checked) void withRedaction().catch(() => {});
});

async function compressNow(): Promise<void> {
  const text = input.value;
  run.disabled = true;
  document.body.dataset.state = 'running';
  try {
    const t0 = performance.now();
    const api = redact.checked ? await withRedaction() : { compressContent };
    const r = await api.compressContent(text, {
      kind: (kind.value || undefined) as KindName | undefined,
      query: query.value || undefined,
      fallback: false,
    });
    const ms = performance.now() - t0;
    const { html, count, masked } = highlight(r.text);
    output.innerHTML = html;
    $('before').textContent = fmt.format(r.tokensBefore);
    $('after').textContent = fmt.format(r.tokensAfter);
    $('saved').textContent = r.tokensBefore ? `${((100 * r.tokensSaved) / r.tokensBefore).toFixed(1)}%` : '0%';
    $('time').textContent = `${ms.toFixed(1)} ms`;
    $('detected').textContent = `${r.kind} · ${r.transform}`;
    $('original-size').textContent = `${fmt.format(new Blob([text]).size)} bytes`;
    $('output-size').textContent = `${fmt.format(new Blob([r.text]).size)} bytes, ${count} marker${count === 1 ? '' : 's'}`;
    status.textContent = r.compressed
      ? `Compressed in ${ms.toFixed(1)} ms. ${
          masked ? `${masked} secret${masked === 1 ? '' : 's'} masked for good (kept nowhere, not even in this page). ` : ''
        }${count ? "Highlighted markers say exactly what was elided; the originals stay in this page's store." : ''}`
      : `Left as it was (${r.transform}).`;
    document.body.dataset.state = 'done';
  } catch (e) {
    status.textContent = `Error: ${(e as Error).message}`;
    document.body.dataset.state = 'error';
  } finally {
    run.disabled = false;
  }
}
run.addEventListener('click', () => void compressNow());

// The whole API in the page, for the console and for benchmarks that drive the page.
(window as unknown as { headroom: typeof headroom }).headroom = headroom;

pick();
const t0 = performance.now();
loadEngine()
  .then(() => {
    countTokens('warm up');
    run.textContent = 'Compress';
    run.disabled = false;
    status.textContent = `Engine loaded in ${(performance.now() - t0).toFixed(0)} ms.`;
    document.body.dataset.state = 'ready';
  })
  .catch((e: Error) => {
    status.textContent = `The engine failed to load: ${e.message}`;
    document.body.dataset.state = 'error';
  });
