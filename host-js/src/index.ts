// headroom-ai: the Headroom engine in-process (Node >= 18, browsers, bundlers), or remote.
export { compress, compressContent, compressBody, detectKind } from './compress.js';
export type { CompressOptions, CompressResult, ContextReport, ContentOptions, ContentResult, BodyOptions } from './compress.js';
export type { EngineOptions, KindName, Mode } from './options.js';
export { detectFormat, countMessages, type MessageFormat } from './formats.js';
export { countO200k as countTokens } from './tokenizer.js';
export { loadEngine } from './engine.js';
export { createCompressor, type Compressor, type CompressorOptions, type PluginSource, type PluginStatus } from './compressor.js';
export { HeadroomError, isHeadroomError, type HeadroomErrorKind } from './errors.js';
export { RetrievalStore, defaultStore, retrieve, type StoreLimits } from './store.js';
export {
  RETRIEVE_TOOL_NAME, retrieveTool, handleRetrieveCall, isRetrieveCall, type RetrieveSource,
} from './retrieve-tool.js';
export { HeadroomClient, type ClientOptions } from './client.js';
export { withHeadroom, type AdapterOptions } from './adapters.js';
