/**
 * What went wrong, as a caller can act on it:
 * - `invalid_input`: the messages or options are not what the engine (or proxy) accepts; fix the call.
 * - `declined`: the compressor refused to do the work (a proxy answered 401/403/413); nothing was changed.
 * - `engine_fault`: the engine trapped or reported an internal error, or a proxy answered 5xx.
 * - `network`: a proxy could not be reached or did not answer in time.
 */
export type HeadroomErrorKind = 'invalid_input' | 'declined' | 'engine_fault' | 'network';

/** The only error type the package throws. `messages` holds the caller's originals when known. */
export class HeadroomError extends Error {
  readonly kind: HeadroomErrorKind;
  /** HTTP status from a proxy, when there was one. */
  readonly status?: number;
  /** The caller's messages, untouched, so a failure never loses them. */
  readonly messages?: unknown[];

  constructor(
    kind: HeadroomErrorKind,
    message: string,
    extra: { status?: number; messages?: unknown[]; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'HeadroomError';
    this.kind = kind;
    this.status = extra.status;
    this.messages = extra.messages;
  }
}

/** Whether `e` is a HeadroomError, across copies of the package. */
export function isHeadroomError(e: unknown): e is HeadroomError {
  return e instanceof HeadroomError || (e instanceof Error && e.name === 'HeadroomError' && 'kind' in e);
}
