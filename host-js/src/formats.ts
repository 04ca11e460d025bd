// Message formats: which provider dialect a list of messages is in, the request body the engine
// reads, and the token figures every result reports.
import { HeadroomError } from './errors.js';
import { countO200k } from './tokenizer.js';
import type { Dialect } from './engine.js';

/** `openai` is Chat Completions messages; `openai-responses` is Responses `input` items. */
export type MessageFormat = 'openai' | 'anthropic' | 'openai-responses';

const ANTHROPIC_BLOCKS = new Set(['tool_result', 'tool_use', 'thinking', 'redacted_thinking']);
const RESPONSES_ITEMS = new Set(['function_call', 'function_call_output', 'reasoning', 'custom_tool_call_output']);

/**
 * Anthropic if a message has Anthropic-only blocks, Responses if an item is a Responses-only item,
 * otherwise OpenAI Chat (plain `{role, content: string}` messages read the same in every format).
 */
export function detectFormat(messages: readonly unknown[]): MessageFormat {
  for (const m of messages) {
    const rec = m as Record<string, unknown>;
    if (typeof rec?.type === 'string' && RESPONSES_ITEMS.has(rec.type)) return 'openai-responses';
    if (Array.isArray(rec?.content)) {
      for (const b of rec.content) {
        const t = (b as Record<string, unknown>)?.type;
        if (typeof t === 'string' && ANTHROPIC_BLOCKS.has(t)) return 'anthropic';
      }
    }
  }
  return 'openai';
}

export function dialectOf(format: MessageFormat): Dialect {
  switch (format) {
    case 'anthropic':
      return 'anthropic-messages';
    case 'openai-responses':
      return 'openai-responses';
    case 'openai':
      return 'openai-chat';
  }
}

export function checkMessages(messages: unknown): void {
  if (!Array.isArray(messages)) {
    throw new HeadroomError('invalid_input', '`messages` must be an array of message objects');
  }
  messages.forEach((m, i) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      throw new HeadroomError('invalid_input', `messages[${i}] must be an object`, { messages });
    }
  });
}

export function checkFormat(format: unknown): MessageFormat | undefined {
  if (format === undefined || format === 'openai' || format === 'anthropic' || format === 'openai-responses') {
    return format;
  }
  throw new HeadroomError('invalid_input', `unknown format ${JSON.stringify(format)} (openai, anthropic, openai-responses)`);
}

/** The request body the engine reads for these messages. */
export function requestBody(format: MessageFormat, model: string, messages: unknown[], system?: unknown): string {
  if (format === 'openai-responses') return JSON.stringify({ model, input: messages });
  if (format === 'anthropic' && system !== undefined) return JSON.stringify({ model, system, messages });
  return JSON.stringify({ model, messages });
}

/** The messages of a body the engine returned. */
export function messagesOf(format: MessageFormat, body: Uint8Array): unknown[] {
  const parsed = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;
  const list = format === 'openai-responses' ? parsed.input : parsed.messages;
  if (!Array.isArray(list)) throw new Error('the engine returned a body without its message list');
  return list;
}

/**
 * o200k tokens of the messages' text: string contents and text-bearing blocks, each followed by a
 * newline. It is the count `POST /v1/compress` reports, so local and remote figures agree.
 */
export function countMessages(messages: readonly unknown[]): number {
  const parts: string[] = [];
  const textOf = (v: unknown): void => {
    if (typeof v === 'string') {
      parts.push(v, '\n');
    } else if (Array.isArray(v)) {
      v.forEach(textOf);
    } else if (typeof v === 'object' && v !== null) {
      const rec = v as Record<string, unknown>;
      for (const key of ['text', 'content', 'input', 'thinking']) {
        if (key in rec) textOf(rec[key]);
      }
    }
  };
  for (const m of messages) {
    const rec = m as Record<string, unknown>;
    if (rec.content !== undefined) textOf(rec.content);
    // Responses tool outputs carry their text in `output`, not `content`.
    if (rec.type === 'function_call_output' && rec.output !== undefined) textOf(rec.output);
  }
  return countO200k(parts.join(''));
}
