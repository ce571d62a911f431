#!/usr/bin/env node
// `lugh <command>`: parses the command line, reads the env files, dispatches to one file
// per command in src/commands/. Nothing else lives here.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type CliCommand, ENV_FILES, EXIT_CONFIG, usageError } from './commands/command.js';
import { configCommand } from './commands/config.js';
import { deployRunCommand } from './commands/deploy-run.js';
import { doctorCommand } from './commands/doctor.js';
import { githubCommand } from './commands/github.js';
import { healthcheckCommand } from './commands/healthcheck.js';
import { keysCommand } from './commands/keys.js';
import { migrateCommand } from './commands/migrate.js';
import { sandboxCommand } from './commands/sandbox.js';
import { startCommand } from './commands/start.js';
import { loadEnvFiles } from './config/env-files.js';
import { secretsOfEnv } from './config/index.js';
import { createRedactor } from './redact.js';

/** Every command, in the order `lugh --help` lists them. */
const COMMANDS: readonly CliCommand[] = [
  startCommand,
  migrateCommand,
  configCommand,
  healthcheckCommand,
  deployRunCommand,
  doctorCommand,
  githubCommand,
  sandboxCommand,
  keysCommand,
];

const USAGE = `usage: lugh [--env staging|production] [--env-path FILE]... <command>

commands:
${COMMANDS.map((c) => `  ${c.usage}`).join('\n')}

--env staging|production  read .env.staging or .env.prod from the current directory
--env-path FILE           read FILE (may be repeated)
Each file is followed by FILE.local (untracked secrets); the process environment wins over both.
(Not --env-file: Node 20 itself intercepts that flag.)`;

export async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      env: { type: 'string' },
      'env-path': { type: 'string', multiple: true },
      port: { type: 'string' },
      dir: { type: 'string' },
      repo: { type: 'string' },
      'staging-container': { type: 'string' },
      'production-container': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  const [name, ...args] = positionals;
  if (values.help || !name) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(name || values.help ? 0 : EXIT_CONFIG);
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) usageError(`lugh: unknown command "${name}"\n${USAGE}`);
  const files = [...(values['env-path'] ?? [])];
  if (values.env !== undefined) {
    if (values.env !== 'staging' && values.env !== 'production') {
      usageError(`lugh: --env must be staging or production, got "${values.env}"`);
    }
    files.unshift(ENV_FILES[values.env]);
  }
  const env = loadEnvFiles(files);
  try {
    return await command.run({ args, options: values, env });
  } catch (error) {
    // Whatever escapes is printed: it must not carry a secret that came from an env file
    // (the process environment alone would not know it).
    const redact = createRedactor(secretsOfEnv(env));
    throw new Error(redact(error instanceof Error ? (error.stack ?? error.message) : String(error)));
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    // Secrets are unknown here if config failed to parse; the environment's values are redacted anyway.
    const redact = createRedactor(secretsOfEnv(process.env));
    process.stderr.write(`lugh: ${redact(error instanceof Error ? error.message : String(error))}\n`);
    process.exit(1);
  });
}
