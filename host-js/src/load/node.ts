// Node reads the core modules from the package folder; the browser build (./browser.ts) fetches
// them instead, so no Node built-in is on the browser path.
import { readFile } from 'node:fs/promises';

/** Compile one of the component's core modules, named as jco names them. */
export async function loadCoreModule(name: string): Promise<WebAssembly.Module> {
  const bytes = await readFile(new URL(`../../gen/${name}`, import.meta.url));
  return WebAssembly.compile(bytes);
}
