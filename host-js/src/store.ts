// Originals of lossy edits, kept in-process so a marker's key can be resolved. Bounded by entry
// count and by total characters; the least recently used entries go first.

export interface StoreLimits {
  /** Default 1000. */
  maxEntries?: number;
  /** Total characters of the stored originals. Default 64 Mi. */
  maxChars?: number;
}

export class RetrievalStore {
  readonly maxEntries: number;
  readonly maxChars: number;
  #entries = new Map<string, string>();
  #chars = 0;

  constructor(limits: StoreLimits = {}) {
    this.maxEntries = limits.maxEntries ?? 1000;
    this.maxChars = limits.maxChars ?? 64 * 1024 * 1024;
  }

  /** Keep `original` under `key`. An original larger than the whole store is not kept. */
  put(key: string, original: string): void {
    this.delete(key);
    if (original.length > this.maxChars || this.maxEntries < 1) return;
    this.#entries.set(key, original);
    this.#chars += original.length;
    while (this.#entries.size > this.maxEntries || this.#chars > this.maxChars) {
      const oldest = this.#entries.keys().next().value as string;
      this.delete(oldest);
    }
  }

  /** The original under `key` (with or without its `h:` prefix), or undefined. */
  get(key: string): string | undefined {
    const k = normaliseKey(key);
    const v = this.#entries.get(k);
    if (v !== undefined) {
      this.#entries.delete(k);
      this.#entries.set(k, v);
    }
    return v;
  }

  /** Same as `get`: lets a store stand wherever a retrieval source is expected. */
  retrieve(key: string): string | undefined {
    return this.get(key);
  }

  has(key: string): boolean {
    return this.#entries.has(normaliseKey(key));
  }

  delete(key: string): boolean {
    const k = normaliseKey(key);
    const v = this.#entries.get(k);
    if (v === undefined) return false;
    this.#entries.delete(k);
    this.#chars -= v.length;
    return true;
  }

  clear(): void {
    this.#entries.clear();
    this.#chars = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Total characters held. */
  get chars(): number {
    return this.#chars;
  }
}

/** Models sometimes drop the `h:` prefix, or keep the quotes from the marker. */
export function normaliseKey(key: string): string {
  const k = key.trim().replace(/^["']|["']$/g, '');
  return k.startsWith('h:') ? k : `h:${k}`;
}

/** The store `compress` and `compressContent` use unless given another. */
export const defaultStore = new RetrievalStore();

/** The original behind a marker's key, from the default store. */
export function retrieve(hash: string): string | undefined {
  return defaultStore.get(hash);
}
