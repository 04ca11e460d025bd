// Each URL is a literal `new URL(..., import.meta.url)` so bundlers (vite, webpack, esbuild)
// emit the .wasm files as assets and rewrite the paths.
const urls: Record<string, URL> = {
  'headroom-core.core.wasm': new URL('../../gen/headroom-core.core.wasm', import.meta.url),
  'headroom-core.core2.wasm': new URL('../../gen/headroom-core.core2.wasm', import.meta.url),
  'headroom-core.core3.wasm': new URL('../../gen/headroom-core.core3.wasm', import.meta.url),
};

/** Compile one of the component's core modules, named as jco names them. */
export async function loadCoreModule(name: string): Promise<WebAssembly.Module> {
  const url = urls[name];
  if (!url) throw new Error(`unknown core module ${name}`);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
  // compileStreaming needs the application/wasm content type, which not every server sends.
  if (response.headers.get('content-type')?.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

/** A plugin location: a URL, or one relative to the page. */
export function resolveLocation(where: string | URL): URL {
  return where instanceof URL ? where : new URL(where, globalThis.location?.href);
}

/** The bytes at `url`, fetched. */
export async function readResource(url: URL): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
