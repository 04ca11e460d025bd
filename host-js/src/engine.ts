// The core component, transpiled by jco (gen/), instantiated once per process or page with the
// exact tokenizer as its only import. A trap can leave an instance's memory in any state, so an
// instance that trapped is dropped and the next call builds a fresh one.
import { instantiate } from '../gen/headroom-core.js';
import type * as Compressor from '../gen/interfaces/headroom-compress-compressor.js';
import type * as Admission from '../gen/interfaces/headroom-compress-admission.js';
import { loadCoreModule } from '#load-core';
import { HeadroomError } from './errors.js';
import { countO200k } from './tokenizer.js';
import { warmUp } from './warmup.js';

export type Engine = typeof Compressor;
export type AdmissionRules = typeof Admission;
export type { Manifest as AdmittedManifest } from '../gen/interfaces/headroom-compress-admission.js';

import type * as PluginsImport from '../gen/interfaces/headroom-plugin-plugins.js';
export type * as PluginTypes from '../gen/interfaces/headroom-plugin-types.js';

/** What the engine's `plugins` import dispatches to during one call (see plugins/set.ts). */
export type PluginDispatch = typeof PluginsImport;
export type * from '../gen/interfaces/headroom-compress-types.js';
export type { RequestOutcome, ContentOutcome, MessagesOutcome } from '../gen/interfaces/headroom-compress-compressor.js';

let current: Promise<Engine> | undefined;
let admission: AdmissionRules | undefined;
/**
 * The plugin set of the call in progress. Engine calls are synchronous, so the set is put in
 * place right before one and taken away right after: concurrent compressions with different
 * sets never see each other's.
 */
let active: PluginDispatch | undefined;

function create(): Promise<Engine> {
  const tokenizer = { count: countO200k };
  // The engine asks its host for plugins: the set of the call in progress, or none (the
  // engine then routes every block to its built-ins, output identical to a build without the
  // plugin contract). Routing and the checks on answers stay in the engine.
  const plugins = {
    loaded: () => active?.loaded() ?? [],
    transform: (...args: Parameters<PluginDispatch['transform']>) => {
      const [id] = args;
      if (!active) throw { payload: `no plugin ${id} is loaded` };
      return active.transform(...args);
    },
    rejected: (id: string, reason: string) => active?.rejected(id, reason),
  };
  // jco 1.35 looks imports up without their version, while its .d.ts names them with it.
  const imports = {
    'headroom:compress/tokenizer@0.3.1': tokenizer,
    'headroom:compress/types@0.3.1': {},
    'headroom:plugin/plugins@0.1.0': plugins,
    'headroom:plugin/types@0.1.0': {},
    'headroom:compress/tokenizer': tokenizer,
    'headroom:compress/types': {},
    'headroom:plugin/plugins': plugins,
    'headroom:plugin/types': {},
  };
  return Promise.resolve(instantiate(loadCoreModule, imports)).then((root) => {
    const engine = root.compressor;
    admission = root.admission;
    warmUp((text) => engine.compressContent(text, undefined, { minTokens: 0 }));
    return engine;
  });
}

/** Load the engine (compiles the wasm on first use; later calls return the same instance). */
export function loadEngine(): Promise<Engine> {
  if (!current) {
    const attempt = create();
    current = attempt;
    // A failed load must not be cached: the next call tries again.
    attempt.catch(() => {
      if (current === attempt) current = undefined;
    });
  }
  return current;
}

/** The payload of a WIT `result` error, as jco throws it. */
interface ComponentError {
  payload: { tag: 'malformed-request' | 'internal'; val: string };
}

function isComponentError(e: unknown): e is ComponentError {
  const p = (e as { payload?: { tag?: unknown } } | null)?.payload;
  return typeof p === 'object' && p !== null && (p.tag === 'malformed-request' || p.tag === 'internal');
}

/**
 * Run `f` on the engine and turn whatever it throws into a HeadroomError: a malformed request is
 * the caller's `invalid_input`; an internal error or a trap is an `engine_fault`.
 */
export async function withEngine<T>(f: (engine: Engine) => T, plugins?: PluginDispatch): Promise<T> {
  let engine: Engine;
  try {
    engine = await loadEngine();
  } catch (e) {
    throw new HeadroomError('engine_fault', `loading the engine failed: ${String(e)}`, { cause: e });
  }
  active = plugins;
  try {
    return f(engine);
  } catch (e) {
    if (isComponentError(e)) {
      if (e.payload.tag === 'malformed-request') {
        throw new HeadroomError('invalid_input', e.payload.val, { cause: e });
      }
      throw new HeadroomError('engine_fault', `engine error: ${e.payload.val}`, { cause: e });
    }
    current = undefined;
    throw new HeadroomError('engine_fault', `the engine trapped: ${String(e)}`, { cause: e });
  } finally {
    active = undefined;
  }
}

/** The engine's plugin admission rules (the same code the native host runs). */
export async function loadAdmission(): Promise<AdmissionRules> {
  await loadEngine();
  if (!admission) throw new Error('the engine exports no admission interface');
  return admission;
}
