// How `lugh` ends on a command line or configuration the user must fix. Apart from
// command.ts so that cli.ts can use it without loading the configuration's schema (which
// `lugh healthcheck`, run by Docker every few seconds, has no use for).

/** Exit code for a command line or configuration the user must fix. */
export const EXIT_CONFIG = 2;

/** Prints a usage problem to stderr and exits 2. */
export function usageError(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(EXIT_CONFIG);
}
