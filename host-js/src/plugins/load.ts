// Loading plugins: every plugin verified before the set is built. The rules (the manifest's
// fields and values, the world version, the sha256, the judgement of the self-test) are the
// engine's `admission` export, the same Rust the native host runs; this file fetches the
// files, hashes the component, compiles its core module and makes the self-test call.
import { loadAdmission, type AdmittedManifest } from '../engine.js';
import { HeadroomError } from '../errors.js';
import { readResource, resolveLocation } from '#load-core';
import { checkCoreModule, coreModuleOf } from './component.js';
import { callPlugin, type PluginEntry } from './set.js';

/**
 * A plugin: the folder `just plugins` writes (`plugin.toml`, `plugin.wasm`, the self-test
 * sample), by URL (or, in Node, a path), or its files' contents.
 */
export type PluginSource =
  | string
  | URL
  | {
      /** `plugin.toml`, with the component's sha256. */
      manifest: string;
      /** `plugin.wasm`: the component. */
      component: Uint8Array | ArrayBuffer;
      /** The self-test sample the manifest names. */
      sample: string;
    };

interface Files {
  where: string;
  manifest: string;
  component: Uint8Array;
  sample: (name: string) => Promise<string>;
}

async function filesOf(source: PluginSource): Promise<Files> {
  if (typeof source === 'string' || source instanceof URL) {
    const base = resolveLocation(source);
    const dir = new URL(base.href.endsWith('/') ? base.href : `${base.href}/`);
    const text = async (name: string) => new TextDecoder().decode(await readResource(new URL(name, dir)));
    const [manifest, component] = await Promise.all([text('plugin.toml'), readResource(new URL('plugin.wasm', dir))]);
    return { where: dir.href, manifest, component, sample: text };
  }
  if (typeof source !== 'object' || source === null || typeof source.manifest !== 'string') {
    throw new Error('a plugin is a folder URL or path, or { manifest, component, sample }');
  }
  const component = source.component instanceof Uint8Array ? source.component : new Uint8Array(source.component);
  const sample = source.sample;
  if (typeof sample !== 'string') throw new Error('`sample`: the self-test sample the manifest names');
  return { where: 'the given bytes', manifest: source.manifest, component, sample: async () => sample };
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('WebCrypto (crypto.subtle) is needed to check plugin hashes');
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function payloadOf(e: unknown): string {
  const p = (e as { payload?: unknown } | null)?.payload;
  return typeof p === 'string' ? p : e instanceof Error ? e.message : String(e);
}

/** Load and verify one plugin; throws `invalid_input` naming the plugin and the check that failed. */
export async function loadPlugin(source: PluginSource): Promise<PluginEntry> {
  let files: Files;
  try {
    files = await filesOf(source);
  } catch (e) {
    throw new HeadroomError('invalid_input', `plugin ${String(source)}: ${payloadOf(e)}`, { cause: e });
  }
  const fail = (what: string, e?: unknown): never => {
    throw new HeadroomError('invalid_input', `plugin at ${files.where}: ${what}${e === undefined ? '' : `: ${payloadOf(e)}`}`, {
      cause: e,
    });
  };
  const rules = await loadAdmission();
  let manifest: AdmittedManifest;
  try {
    manifest = rules.admit(files.manifest, await sha256(files.component));
  } catch (e) {
    return fail('refused', e);
  }
  const id = manifest.plugin.id;
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(coreModuleOf(files.component) as BufferSource);
    checkCoreModule(module);
  } catch (e) {
    return fail(`${id}: cannot run its component`, e);
  }
  const entry: PluginEntry = { manifest, module };
  // The self-test: the sample under its key, the manifest's kind, lossy as declared.
  let sample: string;
  try {
    sample = await files.sample(manifest.selfTest.sample);
  } catch (e) {
    return fail(`${id}: self-test sample ${manifest.selfTest.sample}`, e);
  }
  try {
    const block = rules.selfTestBlock(sample);
    const answer = callPlugin(entry, block, manifest.selfTest.kind, { query: undefined, lossy: manifest.plugin.lossy });
    rules.judgeSelfTest(files.manifest, sample, answer);
  } catch (e) {
    return fail(`${id}: self-test failed`, e);
  }
  return entry;
}
