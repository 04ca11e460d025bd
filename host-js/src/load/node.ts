// Node reads the core modules from the package folder; the browser build (./browser.ts) fetches
// them instead, so no Node built-in is on the browser path.
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

/** Compile one of the component's core modules, named as jco names them. */
export async function loadCoreModule(name: string): Promise<WebAssembly.Module> {
  const bytes = await readFile(new URL(`../../gen/${name}`, import.meta.url));
  return WebAssembly.compile(bytes);
}

/** A plugin location: a URL, or a path (relative to the working directory). */
export function resolveLocation(where: string | URL): URL {
  if (where instanceof URL) return where;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(where) ? new URL(where) : pathToFileURL(where);
}

/** The bytes at `url`: a file, or fetched over http(s). */
export async function readResource(url: URL): Promise<Uint8Array> {
  if (url.protocol === 'file:') return new Uint8Array(await readFile(url));
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
