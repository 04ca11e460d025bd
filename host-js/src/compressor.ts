// A compressor with its own plugin set: the same engine, the same calls as the package's
// functions, with the engine's `plugins` import dispatching to the plugins loaded here.
import {
  compressBodyWith, compressContentWith, compressWith, detectKind,
  type BodyOptions, type CompressOptions, type CompressResult, type ContentOptions, type ContentResult,
} from './compress.js';
import type { PluginDispatch } from './engine.js';
import { HeadroomError } from './errors.js';
import type { KindName } from './options.js';
import type { PluginSource } from './plugins/load.js';
import type { PluginStatus } from './plugins/set.js';

export interface CompressorOptions {
  /**
   * Transform plugins (`headroom:plugin/plugin@0.1.0` components, as `just plugins` lays them
   * out), in the order they run within a placement. Each is verified before the compressor is
   * returned (manifest, world version, sha256, its self-test); a refused plugin rejects the
   * promise with an `invalid_input` error that names it.
   */
  plugins?: PluginSource[];
}

export interface Compressor {
  compress<M>(messages: M[], options?: CompressOptions): Promise<CompressResult<M>>;
  compressContent(text: string, options?: ContentOptions): Promise<ContentResult>;
  compressBody(
    body: Uint8Array | string,
    options: BodyOptions,
  ): ReturnType<typeof compressBodyWith>;
  detectKind(text: string): Promise<KindName>;
  /** The plugins, their counters and whether each is quarantined. */
  plugins(): PluginStatus[];
}

/** A compressor running the given plugins (none: the package's functions, as they are). */
export async function createCompressor(options: CompressorOptions = {}): Promise<Compressor> {
  const sources = options.plugins ?? [];
  if (!Array.isArray(sources)) throw new HeadroomError('invalid_input', '`plugins` must be an array');
  if (!sources.length) return compressorOf(undefined);
  // The plugin host (jco's glue for the plugin world, ~100 KB) is loaded only when plugins are:
  // bundlers split it out of a page's first load.
  const [{ loadPlugin }, { PluginSet }] = await Promise.all([import('./plugins/load.js'), import('./plugins/set.js')]);
  const entries = await Promise.all(sources.map(loadPlugin));
  const ids = new Set<string>();
  for (const e of entries) {
    if (ids.has(e.manifest.plugin.id)) throw new HeadroomError('invalid_input', `two plugins have the id ${e.manifest.plugin.id}`);
    ids.add(e.manifest.plugin.id);
  }
  return compressorOf(new PluginSet(entries));
}

function compressorOf(set: { dispatch(): PluginDispatch; status(): PluginStatus[] } | undefined): Compressor {
  const dispatch = set?.dispatch();
  return {
    compress: (messages, o) => compressWith(dispatch, messages, o),
    compressContent: (text, o) => compressContentWith(dispatch, text, o),
    compressBody: (body, o) => compressBodyWith(dispatch, body, o),
    detectKind,
    plugins: () => set?.status() ?? [],
  };
}

export type { PluginSource, PluginStatus };
