// The demo is built against the package as published (dist/), so it exercises the browser
// loader and the bundler path users get. `base: './'` lets any server mount it under a path
// (the proxy serves it at /demo/).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The demo can turn the redact-secrets plugin on: its folder as `just plugins` lays it out is
// shipped beside the page (plugins/redact-secrets/) and loaded by URL only when asked for.
const REDACT = fileURLToPath(new URL('../../target/plugins/redact-secrets/', import.meta.url));
function shipRedactSecrets() {
  return {
    name: 'headroom-ship-redact-secrets',
    generateBundle() {
      if (!existsSync(`${REDACT}plugin.wasm`)) this.error(`${REDACT} is missing: run \`just plugins\``);
      for (const f of readdirSync(REDACT)) {
        this.emitFile({ type: 'asset', fileName: `plugins/redact-secrets/${f}`, source: readFileSync(REDACT + f) });
      }
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: { alias: { 'headroom-ai': fileURLToPath(new URL('../dist/index.js', import.meta.url)) } },
  plugins: [shipRedactSecrets()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
});
