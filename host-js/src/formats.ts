// Message formats: which provider dialect a list of messages is in, the request body the engine
// reads, and the token figures every result reports.
import { HeadroomError } from './errors.js';
import { countO200k } from './tokenizer.js';
import type { Dialect } from './engine.js';

/** `openai` is Chat Completions messages; `openai-responses` is Responses `input` items. */
export type MessageFormat = 'openai' | 'anthropic' | 'openai-responses';

/** Content block types only Anthropic messages have (Chat has `image_url`, Responses `input_image`). */
const ANTHROPIC_BLOCKS = new Set([
  'tool_result', 'tool_use', 'thinking', 'redacted_thinking', 'image', 'document', 'search_result',
  'server_tool_use', 'web_search_tool_result', 'web_fetch_tool_result', 'code_execution_tool_result',
  'bash_code_execution_tool_result', 'text_editor_code_execution_tool_result', 'mcp_tool_use',
  'mcp_tool_result', 'container_upload',
]);
/** Item types only Responses `input` has (`message` included: Chat and Anthropic messages have no `type`). */
const RESPONSES_ITEMS = new Set([
  'message', 'function_call', 'function_call_output', 'custom_tool_call', 'custom_tool_call_output', 'reasoning',
  'item_reference', 'computer_call', 'computer_call_output', 'local_shell_call', 'local_shell_call_output',
  'shell_call', 'shell_call_output', 'apply_patch_call', 'apply_patch_call_output', 'web_search_call',
  'file_search_call', 'image_generation_call', 'code_interpreter_call', 'mcp_call', 'mcp_list_tools',
  'mcp_approval_request', 'mcp_approval_response',
]);
/** Content part types only Responses messages have. */
const RESPONSES_PARTS = new Set(['input_text', 'output_text', 'input_image', 'input_file']);
/** Content part types only Chat messages have. */
const CHAT_PARTS = new Set(['image_url', 'file']);

/**
 * Anthropic if a message has Anthropic-only blocks (`tool_use`, `tool_result`, thinking, `image`
 * with a `source`, `document`...), Responses if an item is a Responses-only item (`type:
 * 'message'`, `function_call`, `custom_tool_call_output`...) or has Responses-only content parts
 * (`input_text`, `output_text`...). Otherwise OpenAI Chat: plain `{role, content}` messages and
 * `text` blocks read the same in every format, so they are OpenAI unless the caller passes an
 * Anthropic `system` prompt (Chat and Responses carry theirs elsewhere) and nothing is Chat-only
 * (`tool` messages, `tool_calls`, `image_url` parts); callers can always state `format`.
 */
export function detectFormat(messages: readonly unknown[], hints: { system?: unknown } = {}): MessageFormat {
  let chat = false;
  for (const m of messages) {
    const rec = m as Record<string, unknown> | null;
    if (typeof rec !== 'object' || rec === null) continue;
    if (rec.role === 'tool' || rec.role === 'function' || rec.tool_calls !== undefined) chat = true;
    let responses = typeof rec.type === 'string' && RESPONSES_ITEMS.has(rec.type);
    if (Array.isArray(rec.content)) {
      for (const b of rec.content) {
        const t = (b as Record<string, unknown> | null)?.type;
        if (typeof t !== 'string') continue;
        // An Anthropic API response pushed as it is has `type: 'message'` too: its blocks decide.
        if (ANTHROPIC_BLOCKS.has(t)) return 'anthropic';
        if (RESPONSES_PARTS.has(t)) responses = true;
        if (CHAT_PARTS.has(t)) chat = true;
      }
    }
    if (responses) return 'openai-responses';
  }
  return hints.system !== undefined && !chat ? 'anthropic' : 'openai';
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

/** The request body the engine reads for these messages (no `model` field when `model` is undefined). */
export function requestBody(format: MessageFormat, model: string | undefined, messages: unknown[], system?: unknown): string {
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
    if ((rec.type === 'function_call_output' || rec.type === 'custom_tool_call_output') && rec.output !== undefined) {
      textOf(rec.output);
    }
  }
  return countO200k(parts.join(''));
}
