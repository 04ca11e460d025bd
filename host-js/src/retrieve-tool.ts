// The `headroom_retrieve` tool, for agents that run their tools themselves: the definitions to
// put in a request, and a handler that answers a call in the provider's own shape.
import { withEngine } from './engine.js';
import { HeadroomError } from './errors.js';
import { checkFormat, dialectOf, type MessageFormat } from './formats.js';
import { defaultStore } from './store.js';

export const RETRIEVE_TOOL_NAME = 'headroom_retrieve';

/**
 * The tool's definition in `format`'s shape, for the request's `tools`: `anthropic` for
 * `messages.create`, `openai` for `chat.completions.create`, `openai-responses` for
 * `responses.create`. The engine's definition, the very one a Headroom proxy adds to requests.
 */
export async function retrieveTool(format: MessageFormat): Promise<Record<string, unknown>> {
  const f = checkFormat(format);
  if (f === undefined) throw new HeadroomError('invalid_input', '`format` is required (openai, anthropic, openai-responses)');
  return JSON.parse(await withEngine((e) => e.retrieveTool(dialectOf(f)))) as Record<string, unknown>;
}

/** Where the handler looks originals up: a local store, or anything with `retrieve` (a HeadroomClient). */
export type RetrieveSource = { retrieve(hash: string): string | undefined | Promise<string | undefined> };

export interface AnthropicToolUse {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}
export interface OpenAIToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}
export interface ResponsesFunctionCall {
  type: 'function_call';
  call_id: string;
  name: string;
  arguments: string;
}

export type AnthropicToolResult = { type: 'tool_result'; tool_use_id: string; content: string; is_error?: boolean };
export type OpenAIToolMessage = { role: 'tool'; tool_call_id: string; content: string };
export type ResponsesFunctionOutput = { type: 'function_call_output'; call_id: string; output: string };

/** Whether a tool call (any of the three shapes) is a `headroom_retrieve` call. */
export function isRetrieveCall(call: unknown): boolean {
  const c = call as Record<string, unknown> | null;
  const fn = c?.function as Record<string, unknown> | undefined;
  return c?.name === RETRIEVE_TOOL_NAME || fn?.name === RETRIEVE_TOOL_NAME;
}

/**
 * Answer a `headroom_retrieve` call with the provider's result shape: an Anthropic `tool_use`
 * block gets a `tool_result` block, an OpenAI Chat tool call a `tool` message, a Responses
 * `function_call` a `function_call_output` item. A key that is not stored is answered with a
 * message the model can act on, not an exception.
 */
export async function handleRetrieveCall(call: AnthropicToolUse, source?: RetrieveSource): Promise<AnthropicToolResult>;
export async function handleRetrieveCall(call: OpenAIToolCall, source?: RetrieveSource): Promise<OpenAIToolMessage>;
export async function handleRetrieveCall(call: ResponsesFunctionCall, source?: RetrieveSource): Promise<ResponsesFunctionOutput>;
export async function handleRetrieveCall(
  call: AnthropicToolUse | OpenAIToolCall | ResponsesFunctionCall,
  source: RetrieveSource = defaultStore,
): Promise<AnthropicToolResult | OpenAIToolMessage | ResponsesFunctionOutput> {
  if (!isRetrieveCall(call)) {
    throw new HeadroomError('invalid_input', `not a ${RETRIEVE_TOOL_NAME} call`);
  }
  if ('type' in call && call.type === 'tool_use') {
    const { text, found } = await answer(hashOf(call.input), source);
    return { type: 'tool_result', tool_use_id: call.id, content: text, ...(found ? {} : { is_error: true }) };
  }
  if ('type' in call && call.type === 'function_call') {
    return { type: 'function_call_output', call_id: call.call_id, output: (await answer(hashOf(call.arguments), source)).text };
  }
  const c = call as OpenAIToolCall;
  return { role: 'tool', tool_call_id: c.id, content: (await answer(hashOf(c.function.arguments), source)).text };
}

function hashOf(input: unknown): string | undefined {
  let v = input;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  const hash = (v as Record<string, unknown> | null)?.hash;
  return typeof hash === 'string' && hash.length > 0 ? hash : undefined;
}

async function answer(hash: string | undefined, source: RetrieveSource): Promise<{ text: string; found: boolean }> {
  if (!hash) return { text: `${RETRIEVE_TOOL_NAME} needs {"hash": "h:..."} with the key from the marker.`, found: false };
  const original = await source.retrieve(hash);
  if (original !== undefined) return { text: original, found: true };
  return {
    text: `No original is stored under ${hash} (evicted, or from another process): re-run the command or re-read the file.`,
    found: false,
  };
}
