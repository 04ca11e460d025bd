// Remote compression through a Headroom proxy's `POST /v1/compress`, for teams that run one.
import { fallBackCounted, sameJson, type CompressOptions, type CompressResult } from './compress.js';
import { HeadroomError, type HeadroomErrorKind } from './errors.js';
import { checkFormat, checkMessages, detectFormat, type MessageFormat } from './formats.js';

export interface ClientOptions {
  /** Default `$HEADROOM_BASE_URL`, else `http://127.0.0.1:8787`. */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer`. Default `$HEADROOM_API_KEY`. */
  apiKey?: string;
  /** Per attempt. Default 30 000 ms. */
  timeoutMs?: number;
  /** Further attempts after a network failure or a 5xx. Default 1. */
  retries?: number;
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/** What `/v1/compress` answers. */
interface WireResult {
  messages: unknown[];
  /** The format the proxy read the messages as (absent from proxies before it was added). */
  format?: MessageFormat;
  tokens_before: number;
  tokens_after: number;
  tokens_saved: number;
  compression_ratio: number;
  transforms_applied: string[];
  ccr_hashes: string[];
}

function env(name: string): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return p?.env?.[name];
}

export class HeadroomClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly retries: number;
  #apiKey?: string;
  #fetch: typeof fetch;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? env('HEADROOM_BASE_URL') ?? 'http://127.0.0.1:8787').replace(/\/+$/, '');
    this.#apiKey = options.apiKey ?? env('HEADROOM_API_KEY');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 1;
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new HeadroomError('invalid_input', 'no fetch available: pass `fetch`');
    this.#fetch = f;
  }

  /**
   * Compress on the proxy (`POST /v1/compress`): the engine's `compress-messages`, as local
   * `compress` runs it, so both read and count a list alike (OpenAI Chat, Anthropic, Responses).
   * The endpoint reads `messages`, `model`, `format`, `mode` and `system`, and those are what is
   * sent; every other engine option (`minTokens`, `protectedTools`, `lossy`, `contextLimit`...) is
   * the proxy's to choose and is not sent. `store` is ignored (the proxy keeps the originals:
   * `retrieve` fetches them). Same result shape as the local `compress`, without `context`.
   */
  async compress<M>(messages: M[], options: CompressOptions = {}): Promise<CompressResult<M>> {
    checkMessages(messages);
    const format = checkFormat(options.format);
    if (options.model !== undefined && typeof options.model !== 'string') {
      throw new HeadroomError('invalid_input', '`model` must be a string', { messages });
    }
    const body = JSON.stringify({
      messages,
      ...(options.model !== undefined ? { model: options.model } : {}),
      ...(format !== undefined ? { format } : {}),
      ...(options.mode ? { mode: options.mode } : {}),
      ...(options.system !== undefined ? { system: options.system } : {}),
    });
    let wire: WireResult;
    try {
      const response = await this.#request('/v1/compress', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      wire = (await response.json()) as WireResult;
      if (!Array.isArray(wire?.messages)) throw new HeadroomError('engine_fault', 'the proxy answered without `messages`');
    } catch (e) {
      return fallBackCounted(e, messages, format, options);
    }
    return {
      messages: wire.messages as M[],
      tokensBefore: wire.tokens_before,
      tokensAfter: wire.tokens_after,
      tokensSaved: wire.tokens_saved,
      compressionRatio: wire.compression_ratio,
      transformsApplied: wire.transforms_applied,
      ccrHashes: wire.ccr_hashes,
      compressed: !sameJson(wire.messages, messages),
      format: wire.format ?? format ?? (await detectFormat(messages, { system: options.system })),
    };
  }

  /** The original behind a marker's key, as the proxy stored it for this API key; undefined if it has none. */
  async retrieve(hash: string): Promise<string | undefined> {
    try {
      const response = await this.#request(`/v1/retrieve/${encodeURIComponent(hash)}`, { method: 'GET' });
      return ((await response.json()) as { original: string }).original;
    } catch (e) {
      if (e instanceof HeadroomError && e.status === 404) return undefined;
      throw e;
    }
  }

  async #request(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#apiKey) headers.set('authorization', `Bearer ${this.#apiKey}`);
    let last: HeadroomError | undefined;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      let response: Response;
      try {
        response = await this.#fetch(`${this.baseUrl}${path}`, { ...init, headers, signal: AbortSignal.timeout(this.timeoutMs) });
      } catch (e) {
        const timedOut = (e as Error)?.name === 'TimeoutError' || (e as Error)?.name === 'AbortError';
        last = new HeadroomError(
          'network',
          timedOut ? `${this.baseUrl}${path}: no answer within ${this.timeoutMs} ms` : `${this.baseUrl}${path}: ${String((e as Error)?.cause ?? e)}`,
          { cause: e },
        );
        continue;
      }
      if (response.ok) return response;
      const error = new HeadroomError(kindOf(response.status), `${path}: HTTP ${response.status}: ${await errorText(response)}`, { status: response.status });
      if (response.status < 500) throw error;
      last = error;
    }
    throw last ?? new HeadroomError('network', `${path}: no attempt made`);
  }
}

function kindOf(status: number): HeadroomErrorKind {
  if (status === 401 || status === 403 || status === 413 || status === 429) return 'declined';
  if (status >= 500) return 'engine_fault';
  return 'invalid_input';
}

/** The proxy answers `{"error": {"message": ...}}`; anything else is shown as text. */
async function errorText(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON
  }
  return text.slice(0, 500);
}
