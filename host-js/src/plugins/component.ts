// A plugin component's core module. Plugins import nothing (the contract), so a plugin built
// the way the SDK builds one (wit-bindgen, `wasm-tools component new`) is one core module
// lifted by one canonical `transform` export: the package runs it under jco's glue for the
// plugin world, transpiled once when the package is built (gen/plugin-world/), instead of
// transpiling every plugin at load. Anything of another shape is refused here, by name.

/** The core exports the glue reads (wit-bindgen's canonical names for the plugin world). */
export const CORE_EXPORTS = [
  'memory',
  'cabi_realloc',
  'headroom:plugin/transform@0.1.0#transform',
  'cabi_post_headroom:plugin/transform@0.1.0#transform',
] as const;

// Top-level sections only: the component may import the type-only `headroom:plugin/types`
// instance and nest a type shim (wit-component does both); what a plugin could call would be
// an import of its core module, which `checkCoreModule` refuses, as the native host's empty
// linker does.
const SECTION_CORE_MODULE = 1;

function leb(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < bytes.length && i < at + 5; i++) {
    value += (bytes[i] & 0x7f) * 2 ** shift;
    if ((bytes[i] & 0x80) === 0) return [value, i + 1];
    shift += 7;
  }
  throw new Error('truncated component (a section size runs past the end)');
}

/** The bytes of the component's one core module; throws, saying why, for any other shape. */
export function coreModuleOf(component: Uint8Array): Uint8Array {
  const magic = [0x00, 0x61, 0x73, 0x6d];
  if (component.length < 8 || magic.some((b, i) => component[i] !== b)) {
    throw new Error('not a WebAssembly binary');
  }
  // A component's header: version 0x0d and layer 1; a core module has layer 0.
  if (component[6] !== 0x01 || component[7] !== 0x00) {
    throw new Error('a core module, not a component: build it with `just plugins` (or `wasm-tools component new`)');
  }
  let at = 8;
  let core: Uint8Array | undefined;
  while (at < component.length) {
    const id = component[at];
    const [size, body] = leb(component, at + 1);
    const end = body + size;
    if (end > component.length) throw new Error('truncated component');
    if (id === SECTION_CORE_MODULE) {
      if (core) throw new Error('more than one core module: the JS host runs single-module plugins');
      core = component.subarray(body, end);
    }
    at = end;
  }
  if (!core) throw new Error('the component holds no core module');
  return core;
}

/** Check a compiled core module has the shape the glue runs: no imports, the four exports. */
export function checkCoreModule(module: WebAssembly.Module): void {
  const imports = WebAssembly.Module.imports(module);
  if (imports.length) {
    throw new Error(`the core module imports ${imports.map((i) => `${i.module}.${i.name}`).join(', ')}; plugins must import nothing`);
  }
  const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = CORE_EXPORTS.filter((n) => !exported.has(n));
  if (missing.length) {
    throw new Error(`the core module does not export ${missing.join(', ')} (not a headroom:plugin/plugin@0.1.0 component built by wit-bindgen)`);
  }
}
