// Public options -> the WIT `options` record. Every field is optional; the engine's defaults
// apply to what is left out.
import { HeadroomError } from './errors.js';
import type { ContentKind, Options } from './engine.js';

export type Mode = 'cache' | 'token';

/** Engine options shared by every call. */
export interface EngineOptions {
  /** `token` (default) rewrites each block once and the same way every turn, and offloads tool outputs the agent has acted on in batches that pay for themselves; `cache` never changes what the provider has seen. */
  mode?: Mode;
  /** Blocks below this many tokens are left alone (engine default 300). */
  minTokens?: number;
  /** Tool names whose results are never rewritten (case-insensitive; a trailing `*` matches a prefix). */
  protectedTools?: string[];
  /** Leading messages already sent uncompressed: reproduced as they are. */
  frozenCount?: number;
  /** In `token` mode, assistant turns after which a tool output is offloaded (engine default 2). */
  offloadAfterTurns?: number;
  /** In `token` mode, stale tokens that must be waiting before outputs are offloaded (engine default 12000; 0: at once). */
  offloadBatchTokens?: number;
  /** `false` keeps every transform lossless (no markers, nothing to retrieve). */
  lossy?: boolean;
  /** Outline source code (signatures kept, long bodies elided); `false` leaves code whole. Default true. */
  codeAware?: boolean;
  /** The model's context window in tokens; default: the engine's table of known models. */
  contextLimit?: number;
  /** What to do with a request that does not fit its window. Default `scored`. */
  contextStrategy?: 'scored' | 'position' | 'rolling' | 'off';
  /** Before dropping messages, compress the request deeper. Default true. */
  compressFirst?: boolean;
  /**
   * Further fields of the WIT `options` record, by their camelCase names, passed as they are
   * (for engine options newer than this package's typed ones).
   */
  engine?: Record<string, unknown>;
}

export function toWitOptions(o: EngineOptions & { query?: string }): Options {
  if (o.mode !== undefined && o.mode !== 'cache' && o.mode !== 'token') {
    throw new HeadroomError('invalid_input', `unknown mode ${JSON.stringify(o.mode)} (cache, token)`);
  }
  if (o.contextStrategy !== undefined && !['scored', 'position', 'rolling', 'off'].includes(o.contextStrategy)) {
    throw new HeadroomError('invalid_input', `unknown contextStrategy ${JSON.stringify(o.contextStrategy)} (scored, position, rolling, off)`);
  }
  for (const k of ['minTokens', 'frozenCount', 'offloadAfterTurns', 'offloadBatchTokens', 'contextLimit'] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
      throw new HeadroomError('invalid_input', `\`${k}\` must be a non-negative integer`);
    }
  }
  const out: Record<string, unknown> = { ...o.engine };
  if (o.mode !== undefined) out.mode = o.mode;
  if (o.minTokens !== undefined) out.minTokens = o.minTokens;
  if (o.protectedTools !== undefined) out.protectedTools = [...o.protectedTools];
  if (o.frozenCount !== undefined) out.frozenCount = o.frozenCount;
  if (o.offloadAfterTurns !== undefined) out.offloadAfterTurns = o.offloadAfterTurns;
  if (o.offloadBatchTokens !== undefined) out.offloadBatchTokens = o.offloadBatchTokens;
  if (o.lossy !== undefined) out.lossy = o.lossy;
  if (o.query !== undefined) out.query = o.query;
  if (o.codeAware !== undefined) out.codeAware = o.codeAware;
  if (o.contextLimit !== undefined) out.contextLimit = o.contextLimit;
  if (o.contextStrategy !== undefined) out.contextStrategy = o.contextStrategy;
  if (o.compressFirst !== undefined) out.compressFirst = o.compressFirst;
  return out as Options;
}

/** Content kinds by name: the WIT `content-kind` cases, or any other name a plugin claims. */
export type KindName =
  | 'json'
  | 'log'
  | 'search'
  | 'diff'
  | 'code'
  | 'stack-trace'
  | 'test-output'
  | 'listing'
  | 'prose'
  | (string & {});

const KNOWN = new Set(['json', 'log', 'search', 'diff', 'code', 'stack-trace', 'test-output', 'listing', 'prose']);

export function toWitKind(kind: KindName): ContentKind {
  return (KNOWN.has(kind) ? { tag: kind } : { tag: 'other', val: kind }) as ContentKind;
}

export function kindName(kind: ContentKind): KindName {
  return kind.tag === 'other' ? kind.val : kind.tag;
}
