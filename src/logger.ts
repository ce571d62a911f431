import { type Logger, pino } from 'pino';
import { createRedactor } from './redact.js';
import { sourceMappedStack } from './source-mapped-stack.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  readonly secrets: readonly string[];
  readonly base?: Record<string, unknown>;
  /** Where the JSON lines go; stdout by default. Tests pass a collector. */
  readonly destination?: { write(line: string): unknown };
}

/** pino's error serializer, with the stack naming lugh's sources rather than its bundle's chunks. */
function serializeError(error: unknown) {
  const serialized = pino.stdSerializers.err(error as Error);
  if (serialized && typeof serialized.stack === 'string')
    serialized.stack = sourceMappedStack(serialized.stack);
  return serialized;
}

/**
 * A pino JSON logger whose every line passes through the secret redactor, so a token
 * cannot leak through an error message, a stack or a request URL. A logged error's stack
 * names source files and lines (source-mapped-stack.ts).
 */
export function createLogger(options: LoggerOptions): Logger {
  const redact = createRedactor(options.secrets);
  const out = options.destination ?? process.stdout;
  return pino(
    {
      level: options.level,
      base: options.base ?? {},
      redact: {
        paths: ['*.token', '*.password', '*.authorization', '*.headers.authorization', '*.secret'],
        censor: '[redacted]',
      },
      serializers: { err: serializeError },
    },
    { write: (line: string) => out.write(redact(line)) },
  );
}
