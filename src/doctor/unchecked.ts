/** A check that cannot run: what is missing, and how to get it. */
export class Unchecked extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}
