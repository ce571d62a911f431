/** A refresh that must not go on: the message says why and what to do; nothing was changed. */
export class RefreshRefusedError extends Error {
  override name = 'RefreshRefusedError';
}
