// A loaded plugin set as the engine's `plugins` import sees it: the list, and calls counted
// the way the native host counts them (a fault or a refused answer is a failure; three in a
// row quarantine the plugin for the set's life). Which plugin sees which block, and whether
// its answer is used, is decided in the engine; nothing here routes or checks output.
import type { AdmittedManifest, PluginDispatch } from '../engine.js';
import type { Block, ContentKind, Context, Outcome } from '../../gen/interfaces/headroom-plugin-types.js';
import type { Plugin } from '../../gen/interfaces/headroom-plugin-plugins.js';
import { instantiate } from '../../gen/plugin-world/plugin.js';

/** Consecutive failures (faults or refused answers) after which a plugin is quarantined. */
export const QUARANTINE_AFTER = 3;

const PAGE = 64 * 1024;

/** A plugin's counters and state, as `Compressor.plugins()` reports them. */
export interface PluginStatus {
  id: string;
  version: string;
  /** sha256 of the component (hex). */
  sha256: string;
  world: string;
  /** The manifest's kinds (`*` for every kind). */
  kinds: string[];
  placement: 'before' | 'instead' | 'after';
  lossy: boolean;
  limits: { fuel?: number; deadlineMs: number; memoryPages: number };
  state: 'active' | 'quarantined';
  /** Calls made (quarantined ones not included). */
  calls: number;
  /** Calls that returned a rewrite. */
  rewrites: number;
  /** Calls that threw, trapped, returned the plugin's error or passed their limits. */
  failures: number;
  /** Rewrites the engine refused. */
  rejected: number;
  /** The last failure's reason. */
  lastError?: string;
}

/** One plugin ready to call: its admitted manifest and its compiled core module. */
export interface PluginEntry {
  manifest: AdmittedManifest;
  module: WebAssembly.Module;
}

/**
 * Call `transform` on a fresh instance of the plugin (nothing survives from one call to the
 * next, as natively). Throws the reason when it fails or passes its limits.
 */
export function callPlugin(entry: PluginEntry, block: Block, kind: ContentKind, context: Context): Outcome {
  let memory: WebAssembly.Memory | undefined;
  const root = instantiate(() => entry.module, {} as never, (module, imports) => {
    const instance = new WebAssembly.Instance(module, imports);
    memory = instance.exports.memory as WebAssembly.Memory;
    return instance;
  });
  const started = performance.now();
  let outcome: Outcome;
  try {
    outcome = root.transform.transform(block, kind, context);
  } catch (e) {
    throw new Error(describe(e));
  }
  const elapsed = performance.now() - started;
  const { deadlineMs, memoryPages } = entry.manifest.limits;
  // A JS host cannot preempt synchronous wasm or meter fuel: a call over its deadline or memory
  // is found after it returns, and its answer is thrown away as the native host's would be.
  if (elapsed > Number(deadlineMs)) throw new Error(`ran past its deadline (${elapsed.toFixed(1)} ms)`);
  if (memory && memory.buffer.byteLength > memoryPages * PAGE) {
    throw new Error(`grew its memory past ${memoryPages} pages`);
  }
  return outcome;
}

function describe(e: unknown): string {
  const payload = (e as { payload?: { tag?: string; val?: unknown } } | null)?.payload;
  if (payload && typeof payload === 'object' && typeof payload.tag === 'string') {
    return `returned an error: ${payload.tag}: ${String(payload.val)}`;
  }
  return `trapped: ${e instanceof Error ? e.message : String(e)}`;
}

interface Counters {
  calls: number;
  rewrites: number;
  failures: number;
  rejected: number;
  consecutive: number;
  /** The last rewrite has not been refused yet (the engine refuses right after the call). */
  unconfirmed: boolean;
  quarantined: boolean;
  lastError?: string;
}

/** Plugins in the order they run within a placement. */
export class PluginSet {
  readonly #entries: { entry: PluginEntry; n: Counters }[];

  constructor(entries: PluginEntry[]) {
    this.#entries = entries.map((entry) => ({
      entry,
      n: { calls: 0, rewrites: 0, failures: 0, rejected: 0, consecutive: 0, unconfirmed: false, quarantined: false },
    }));
  }

  loaded(): Plugin[] {
    return this.#entries.map((e) => e.entry.manifest.plugin);
  }

  transform(id: string, block: Block, kind: ContentKind, context: Context): Outcome {
    const e = this.#entries.find((x) => x.entry.manifest.plugin.id === id);
    // jco turns a thrown `{ payload }` into the import's `err`.
    if (!e) throw { payload: `no plugin ${id} in this set` };
    if (e.n.quarantined) throw { payload: 'quarantined' };
    e.n.calls += 1;
    if (e.n.unconfirmed) {
      e.n.unconfirmed = false;
      e.n.consecutive = 0;
    }
    try {
      const outcome = callPlugin(e.entry, block, kind, context);
      if (outcome.tag === 'rewritten') {
        e.n.rewrites += 1;
        e.n.unconfirmed = true;
      } else {
        e.n.consecutive = 0;
      }
      return outcome;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      e.n.failures += 1;
      this.#failed(e.n, reason);
      throw { payload: reason };
    }
  }

  /** The dispatch the engine's import calls (methods bound to this set). */
  dispatch(): PluginDispatch {
    return {
      loaded: () => this.loaded(),
      transform: (id, block, kind, context) => this.transform(id, block, kind, context),
      rejected: (id, reason) => this.rejected(id, reason),
    };
  }

  rejected(id: string, reason: string): void {
    const e = this.#entries.find((x) => x.entry.manifest.plugin.id === id);
    if (!e) return;
    e.n.unconfirmed = false;
    e.n.rejected += 1;
    this.#failed(e.n, `output refused: ${reason}`);
  }

  #failed(n: Counters, reason: string): void {
    n.lastError = reason;
    n.consecutive += 1;
    if (n.consecutive >= QUARANTINE_AFTER) n.quarantined = true;
  }

  /** Each plugin's manifest, counters and state. */
  status(): PluginStatus[] {
    return this.#entries.map(({ entry: { manifest: m }, n }) => ({
      id: m.plugin.id,
      version: m.version,
      sha256: m.plugin.build,
      world: m.implements,
      kinds: m.kindNames,
      placement: m.plugin.placement,
      lossy: m.plugin.lossy,
      limits: {
        ...(m.limits.fuel !== undefined ? { fuel: Number(m.limits.fuel) } : {}),
        deadlineMs: Number(m.limits.deadlineMs),
        memoryPages: m.limits.memoryPages,
      },
      state: n.quarantined ? 'quarantined' : 'active',
      calls: n.calls,
      rewrites: n.rewrites,
      failures: n.failures,
      rejected: n.rejected,
      ...(n.lastError !== undefined ? { lastError: n.lastError } : {}),
    }));
  }
}
