// Local compression: the component runs in this process (Node or a page).
import { withEngine, type ContentOutcome, type MessagesOutcome, type PluginDispatch } from './engine.js';
import { HeadroomError, isHeadroomError } from './errors.js';
import {
  checkFormat, checkMessages, countMessages, detectFormat, dialectOf, formatOf, type MessageFormat,
} from './formats.js';
import { kindName, toWitKind, toWitOptions, type EngineOptions, type KindName } from './options.js';
import type { ContextReport as WitContextReport } from './engine.js';
import { defaultStore, type RetrievalStore } from './store.js';
import { countO200k } from './tokenizer.js';

export interface CompressOptions extends EngineOptions {
  /**
   * The model the request is for. The engine reads it only to find the model's context window:
   * with a known model (or with `contextLimit`) a request over the window is made to fit; with
   * none, no window applies and no message is ever dropped.
   */
  model?: string;
  /** The messages' format; detected from their shape when left out. */
  format?: MessageFormat;
  /** Anthropic `system` prompt, read as context (never rewritten). */
  system?: unknown;
  /** Where originals of lossy edits are kept; `false` keeps none. Default: the package's store. */
  store?: RetrievalStore | false;
  /**
   * On an engine fault (or, remotely, a network failure) return the original messages with
   * `compressed: false` and the error in `error` (default true); `false` throws the HeadroomError,
   * which carries the originals in `messages`.
   */
  fallback?: boolean;
}

export interface CompressResult<M = unknown> {
  /** The messages to send: rewritten blocks, everything else as it was. */
  messages: M[];
  tokensBefore: number;
  tokensAfter: number;
  tokensSaved: number;
  /** tokensAfter / tokensBefore (1 when nothing changed). */
  compressionRatio: number;
  /** The transform of each rewritten block, in order. */
  transformsApplied: string[];
  /** Keys of the originals kept for retrieval (one per block with a lossy edit). */
  ccrHashes: string[];
  /**
   * Whether `messages` differ from the input: a block was rewritten, or messages were dropped
   * to fit the context window (see `context`).
   */
  compressed: boolean;
  /** The format the messages were read as. */
  format: MessageFormat;
  /**
   * Set when the request did not fit its context window (the `model`'s, or `contextLimit`):
   * what context management did. Local compression only; a proxy does not report it.
   */
  context?: ContextReport;
  /** Set when the originals came back because of a fault (with `fallback`). */
  error?: HeadroomError;
}

/** What context-window management did to a request over its window. */
export interface ContextReport {
  /** The window applied, in tokens. */
  window: number;
  /** Output tokens the request reserved (`max_tokens` and its twins; 0 from `compress`). */
  outputBudget: number;
  /** Input tokens (as the engine counts the request) after the normal compression. */
  tokensBefore: number;
  /** Input tokens as returned. */
  tokensAfter: number;
  /** Whether the request was compressed deeper (token mode, lossy) before dropping messages. */
  compressedDeeper: boolean;
  /** Messages dropped. */
  messagesDropped: number;
  /** Retrieval key of the dropped messages' original JSON (an array), when any were dropped. */
  key?: string;
}

/** Compress a conversation locally. OpenAI Chat, Anthropic and Responses formats. */
export async function compress<M>(messages: M[], options: CompressOptions = {}): Promise<CompressResult<M>> {
  return compressWith(undefined, messages, options);
}

/** `compress` with a plugin set (a Compressor's). */
export async function compressWith<M>(
  plugins: PluginDispatch | undefined,
  messages: M[],
  options: CompressOptions = {},
): Promise<CompressResult<M>> {
  checkMessages(messages);
  const format = checkFormat(options.format);
  const model = options.model;
  if (model !== undefined && typeof model !== 'string') throw new HeadroomError('invalid_input', '`model` must be a string');
  const opts = toWitOptions(options);
  // The engine wraps the list into a request of its format (sniffed when not given),
  // compresses, unwraps and counts: the very code `POST /v1/compress` runs.
  const request = {
    dialect: format === undefined ? undefined : dialectOf(format),
    model,
    system: options.system === undefined ? undefined : JSON.stringify(options.system),
    messages: JSON.stringify(messages),
  };
  let outcome: MessagesOutcome;
  try {
    outcome = await withEngine((e) => e.compressMessages(request, opts), plugins);
  } catch (e) {
    return fallBackCounted(e, messages, format, options);
  }
  const out = (outcome.messages !== undefined ? JSON.parse(outcome.messages) : messages) as M[];
  const store = options.store === undefined ? defaultStore : options.store;
  const ccrHashes = outcome.offloads.map((o) => {
    if (store) store.put(o.key, o.original);
    return o.key;
  });
  const transformsApplied = outcome.report.flatMap((b) => (b.status.tag === 'compressed' ? [b.status.val] : []));
  const tokensBefore = Number(outcome.tokensBefore);
  const tokensAfter = Number(outcome.tokensAfter);
  const context = outcome.context ? contextReport(outcome.context) : undefined;
  return {
    messages: out,
    tokensBefore,
    tokensAfter,
    tokensSaved: Math.max(0, tokensBefore - tokensAfter),
    compressionRatio: tokensBefore === 0 ? 1 : tokensAfter / tokensBefore,
    transformsApplied,
    ccrHashes,
    compressed: outcome.messages !== undefined && !sameJson(out, messages),
    format: formatOf(outcome.dialect),
    ...(context ? { context } : {}),
  };
}

/**
 * `fallBack` with the format and count of the original messages, asked of the engine once it is
 * known the caller wants its messages back (a fault may repeat: then the given format, or
 * `openai`, and 0 tokens).
 */
export async function fallBackCounted<M>(
  e: unknown,
  messages: M[],
  format: MessageFormat | undefined,
  options: CompressOptions,
): Promise<CompressResult<M>> {
  const fallback = options.fallback ?? true;
  let figures: [MessageFormat, number] = [format ?? 'openai', 0];
  if (isRecoverable(e) && fallback) {
    try {
      figures = [format ?? (await detectFormat(messages, { system: options.system })), await countMessages(messages)];
    } catch {
      // the engine is down: the figures stay unknown
    }
  }
  return fallBack(e, messages, figures[0], figures[1], fallback);
}

function isRecoverable(e: unknown): boolean {
  return !isHeadroomError(e) || e.kind === 'engine_fault' || e.kind === 'network';
}

function contextReport(c: WitContextReport): ContextReport {
  return {
    window: c.window,
    outputBudget: c.outputBudget,
    tokensBefore: c.tokensBefore,
    tokensAfter: c.tokensAfter,
    compressedDeeper: c.compressedDeeper,
    messagesDropped: c.messagesDropped,
    ...(c.key !== undefined ? { key: c.key } : {}),
  };
}

/** Whether two JSON values are equal (object keys in any order). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => sameJson(x, bb[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(rb, k) && sameJson(ra[k], rb[k]));
}

export function fallBack<M>(
  e: unknown,
  messages: M[],
  format: MessageFormat,
  tokens: number,
  fallback: boolean,
): CompressResult<M> {
  const error = isHeadroomError(e) ? e : new HeadroomError('engine_fault', String(e), { cause: e });
  const recoverable = error.kind === 'engine_fault' || error.kind === 'network';
  if (!recoverable || !fallback) {
    throw new HeadroomError(error.kind, error.message, { status: error.status, messages, cause: error.cause ?? error });
  }
  return {
    messages,
    tokensBefore: tokens,
    tokensAfter: tokens,
    tokensSaved: 0,
    compressionRatio: 1,
    transformsApplied: [],
    ccrHashes: [],
    compressed: false,
    format,
    error,
  };
}

export interface ContentOptions extends EngineOptions {
  /** What the text is; detected when left out. */
  kind?: KindName;
  /** Relevance hint: lines and items that mention its words are kept. */
  query?: string;
  store?: RetrievalStore | false;
  /** On an engine fault return the text unchanged with `error` set (default true); `false` throws. */
  fallback?: boolean;
}

export interface ContentResult {
  /** The text to send (the input itself when nothing was done). */
  text: string;
  compressed: boolean;
  /** Detected (or given) kind. */
  kind: KindName;
  /** The transform that ran, or why nothing was done. */
  transform: string;
  tokensBefore: number;
  tokensAfter: number;
  tokensSaved: number;
  compressionRatio: number;
  ccrHashes: string[];
  /** Set when the text came back unchanged because of a fault (with `fallback`). */
  error?: HeadroomError;
}

/** Compress one tool output. */
export async function compressContent(text: string, options: ContentOptions = {}): Promise<ContentResult> {
  return compressContentWith(undefined, text, options);
}

/** `compressContent` with a plugin set (a Compressor's). */
export async function compressContentWith(
  plugins: PluginDispatch | undefined,
  text: string,
  options: ContentOptions = {},
): Promise<ContentResult> {
  if (typeof text !== 'string') throw new HeadroomError('invalid_input', '`text` must be a string');
  const opts = toWitOptions(options);
  const kind = options.kind === undefined ? undefined : toWitKind(options.kind);
  let o: ContentOutcome;
  try {
    o = await withEngine((e) => e.compressContent(text, kind, opts), plugins);
  } catch (e) {
    if (!isHeadroomError(e) || e.kind !== 'engine_fault' || options.fallback === false) throw e;
    const tokens = countO200k(text);
    return {
      text, compressed: false, kind: options.kind ?? 'prose', transform: 'fault', tokensBefore: tokens,
      tokensAfter: tokens, tokensSaved: 0, compressionRatio: 1, ccrHashes: [], error: e,
    };
  }
  const store = options.store === undefined ? defaultStore : options.store;
  const ccrHashes = o.offloads.map((off) => {
    if (store) store.put(off.key, off.original);
    return off.key;
  });
  return {
    text: o.text ?? text,
    compressed: o.text !== undefined,
    kind: kindName(o.kind),
    transform: o.transform,
    tokensBefore: o.tokensBefore,
    tokensAfter: o.tokensAfter,
    tokensSaved: o.tokensBefore - o.tokensAfter,
    compressionRatio: o.tokensBefore === 0 ? 1 : o.tokensAfter / o.tokensBefore,
    ccrHashes,
  };
}

/** The content kind the engine detects for `text`. */
export async function detectKind(text: string): Promise<KindName> {
  if (typeof text !== 'string') throw new HeadroomError('invalid_input', '`text` must be a string');
  return kindName(await withEngine((e) => e.detect(text)));
}

export interface BodyOptions extends EngineOptions {
  dialect: 'anthropic-messages' | 'openai-chat' | 'openai-responses';
}

/**
 * Compress a whole provider request body, as a proxy does: bytes outside the rewritten blocks
 * are kept as received. Returns the body to forward (the input itself when nothing changed),
 * the per-block report and the originals to store.
 */
export async function compressBody(body: Uint8Array | string, options: BodyOptions) {
  return compressBodyWith(undefined, body, options);
}

/** `compressBody` with a plugin set (a Compressor's). */
export async function compressBodyWith(
  plugins: PluginDispatch | undefined,
  body: Uint8Array | string,
  options: BodyOptions,
) {
  if (!['anthropic-messages', 'openai-chat', 'openai-responses'].includes(options?.dialect)) {
    throw new HeadroomError('invalid_input', `unknown dialect ${JSON.stringify(options?.dialect)}`);
  }
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const o = await withEngine((e) => e.compressRequest(options.dialect, bytes, toWitOptions(options)), plugins);
  return { body: o.body ?? bytes, changed: o.body !== undefined, report: o.report, offloads: o.offloads };
}
