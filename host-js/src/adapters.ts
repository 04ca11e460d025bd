// `withHeadroom(client)`: the same OpenAI or Anthropic client, whose `create` calls compress the
// conversation first. Everything else (other methods, streaming responses, `withResponse()`)
// is the client's own.
import type { HeadroomClient } from './client.js';
import { compress, type CompressOptions, type CompressResult } from './compress.js';
import type { MessageFormat } from './formats.js';

export interface AdapterOptions extends Omit<CompressOptions, 'format' | 'model' | 'system' | 'fallback'> {
  /** Compress through this proxy client instead of locally. */
  remote?: HeadroomClient;
  /** Called after each compression (for logging or metrics); not called when nothing was sent to compress. */
  onCompress?: (result: CompressResult, call: string) => void;
}

type Create = (body: unknown, ...rest: unknown[]) => unknown;

/** Which list of which `create` call holds the conversation, by the path to the method. */
const ROUTES: { path: string[]; list: 'messages' | 'input'; format: MessageFormat }[] = [
  { path: ['chat', 'completions', 'create'], list: 'messages', format: 'openai' },
  { path: ['responses', 'create'], list: 'input', format: 'openai-responses' },
  { path: ['messages', 'create'], list: 'messages', format: 'anthropic' },
];

/**
 * Wrap an `openai` or `@anthropic-ai/sdk` client: `chat.completions.create`, `responses.create`
 * and `messages.create` compress their messages before the request is sent, with `stream: true`
 * as well. A compression failure never fails the call: the original body goes.
 */
export function withHeadroom<T extends object>(client: T, options: AdapterOptions = {}): T {
  return wrap(client, [], options) as T;
}

function wrap(target: object, at: string[], options: AdapterOptions): object {
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t);
      if (typeof prop !== 'string') return value;
      const path = [...at, prop];
      const route = ROUTES.find((r) => r.path.length === path.length && r.path.every((p, i) => p === path[i]));
      if (route && typeof value === 'function') return compressing(value.bind(t) as Create, route, options);
      const onTheWay = ROUTES.some((r) => r.path.length > path.length && path.every((p, i) => p === r.path[i]));
      if (onTheWay && typeof value === 'object' && value !== null) return wrap(value, path, options);
      // The SDKs use private fields, which only work with the real object as `this`.
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

function compressing(create: Create, route: (typeof ROUTES)[number], options: AdapterOptions): Create {
  const name = route.path.join('.');
  return (body: unknown, ...rest: unknown[]) => {
    const sent = newBody(body, route, options, name).then((b) => ({ call: create(b, ...rest) }));
    // The SDKs return an APIPromise (a promise with `withResponse()` and `asResponse()`); keep
    // those working by forwarding them to the call made once compression is done.
    const result = sent.then(({ call }) => call);
    return Object.assign(result, {
      withResponse: () => sent.then(({ call }) => (call as { withResponse(): unknown }).withResponse()),
      asResponse: () => sent.then(({ call }) => (call as { asResponse(): unknown }).asResponse()),
    });
  };
}

async function newBody(body: unknown, route: (typeof ROUTES)[number], options: AdapterOptions, name: string): Promise<unknown> {
  const b = body as Record<string, unknown> | null;
  const list = b?.[route.list];
  if (!Array.isArray(list) || list.length === 0) return body;
  const { remote, onCompress, ...engineOptions } = options;
  try {
    const opts: CompressOptions = {
      ...engineOptions,
      model: typeof b?.model === 'string' ? b.model : undefined,
      format: route.format,
      system: route.format === 'anthropic' ? b?.system : undefined,
      fallback: true,
    };
    const result = remote ? await remote.compress(list, opts) : await compress(list, opts);
    onCompress?.(result, name);
    if (!result.compressed) return body;
    return { ...b, [route.list]: result.messages };
  } catch {
    // Invalid input is the provider's to reject, in its own words; the request goes as it was.
    return body;
  }
}
