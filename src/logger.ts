import { type Logger, pino } from 'pino';
import { createRedactor } from './redact.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level: string;
  readonly secrets: readonly string[];
  readonly base?: Record<string, unknown>;
  /** Where the JSON lines go; stdout by default. Tests pass a collector. */
  readonly destination?: { write(line: string): unknown };
}

/**
 * A pino JSON logger whose every line passes through the secret redactor, so a token
 * cannot leak through an error message, a stack or a request URL.
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
      serializers: { err: pino.stdSerializers.err },
    },
    { write: (line: string) => out.write(redact(line)) },
  );
}
