// Exact o200k_base counts for the component's `tokenizer` import. The native hosts count with
// `bpe-openai`; every host must return the same numbers, or the engine's "never worse" decisions
// (and so its output bytes) differ. gpt-tokenizer is an exact pure-JS port whose ranks ship inside
// the npm package, so nothing is fetched at run time.
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';

// Special-token strings (`<|endoftext|>`) are ordinary text to the native counter.
const AS_TEXT = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };

// Agents resend their whole history, so the same blocks are counted again on every turn.
// Short texts are cheaper to count than to hash into a map.
const MEMO_MIN_CHARS = 256;
const MEMO_MAX_CHARS = 32 * 1024 * 1024;
const memo = new Map<string, number>();
let memoChars = 0;

/** The same count, never memoised (for warming the counter up). */
export function countUncached(text: string): number {
  return countTokens(text, AS_TEXT);
}

/** Exact o200k_base token count of `text`. */
export function countO200k(text: string): number {
  if (text.length < MEMO_MIN_CHARS) return countTokens(text, AS_TEXT);
  const hit = memo.get(text);
  if (hit !== undefined) return hit;
  const n = countTokens(text, AS_TEXT);
  if (memoChars + text.length > MEMO_MAX_CHARS) {
    memo.clear();
    memoChars = 0;
  }
  memo.set(text, n);
  memoChars += text.length;
  return n;
}
