/**
 * An error caused by what the caller asked for. Its message says what was wrong and what
 * to do; tools return it as `isError` and nothing in the state has changed.
 */
export class UserError extends Error {
  override name = 'UserError';
}

/** A limit from the command line was reached; the message names the flag. */
export class LimitError extends UserError {
  override name = 'LimitError';
}
