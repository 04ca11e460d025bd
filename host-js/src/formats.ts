// Message formats: the names the package gives the engine's dialects, and the engine's rules for
// a bare list of messages (which dialect it is in, what it counts), called in the component so
// every host reads a list alike.
import { HeadroomError } from './errors.js';
import { withEngine, type Dialect } from './engine.js';

/** `openai` is Chat Completions messages; `openai-responses` is Responses `input` items. */
export type MessageFormat = 'openai' | 'anthropic' | 'openai-responses';

/**
 * The format the engine reads `messages` as when none is given: Anthropic if a message has
 * Anthropic-only blocks (`tool_use`, `tool_result`, thinking, `image` with a `source`,
 * `document`...), Responses if an item is a Responses-only item (`type: 'message'`,
 * `function_call`, `custom_tool_call_output`...) or has Responses-only content parts
 * (`input_text`, `output_text`...). Otherwise OpenAI Chat, unless an Anthropic `system` prompt
 * comes with the messages and nothing is Chat-only (`tool`/`system` roles, `tool_calls`,
 * `image_url` parts). Callers can always state `format`.
 */
export async function detectFormat(messages: readonly unknown[], hints: { system?: unknown } = {}): Promise<MessageFormat> {
  checkMessages(messages);
  const json = JSON.stringify(messages);
  return formatOf(await withEngine((e) => e.sniffDialect(json, hints.system !== undefined)));
}

/**
 * o200k tokens of the messages' text: string contents, text-bearing blocks and Responses tool
 * outputs, each followed by a newline. The engine's count: `compress`, `HeadroomClient.compress`
 * (`POST /v1/compress`) and `headroom compress` report the same figure.
 */
export async function countMessages(messages: readonly unknown[]): Promise<number> {
  checkMessages(messages);
  const json = JSON.stringify(messages);
  return Number(await withEngine((e) => e.countMessages(json)));
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

export function formatOf(dialect: Dialect): MessageFormat {
  switch (dialect) {
    case 'anthropic-messages':
      return 'anthropic';
    case 'openai-responses':
      return 'openai-responses';
    case 'openai-chat':
      return 'openai';
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
