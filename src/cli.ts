#!/usr/bin/env node
// `lugh <command>`: parses the command line, reads the env files, dispatches to one file
// per command in src/commands/. Nothing else lives here.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CliCommand } from './commands/command.js';
import { EXIT_CONFIG, usageError } from './commands/exit-codes.js';
import { ENV_FILE_NAMES, loadEnvFiles } from './config/env-files.js';

// Only what every command needs is imported here: `lugh healthcheck`, which Docker runs every
// few seconds for as long as lugh runs, loads nothing else (the configuration's schema and
// the logger cost ~0.1 s of CPU each time). What an error needs is loaded when one happens.

/** `text` with every secret the environment holds (env files included) redacted. */
async function redactedFor(env: Readonly<Record<string, string | undefined>>, text: string): Promise<string> {
  const [{ secretsOfEnv }, { createRedactor }] = await Promise.all([
    import('./config/secrets.js'),
    import('./redact.js'),
  ]);
  return createRedactor(secretsOfEnv(env))(text);
}

/**
 * Every command, in the order `lugh --help` lists them. Each is loaded only when it runs:
 * `lugh start` must not load what other commands use (dockerode's BuildKit and SSH
 * clients for `deploy-run`, Octokit for `github`, the sandbox…) before it takes updates.
 */
const COMMANDS: ReadonlyArray<{ readonly name: string; readonly load: () => Promise<CliCommand> }> = [
  { name: 'start', load: async () => (await import('./commands/start.js')).startCommand },
  { name: 'migrate', load: async () => (await import('./commands/migrate.js')).migrateCommand },
  { name: 'config', load: async () => (await import('./commands/config.js')).configCommand },
  { name: 'healthcheck', load: async () => (await import('./commands/healthcheck.js')).healthcheckCommand },
  { name: 'deploy-run', load: async () => (await import('./commands/deploy-run.js')).deployRunCommand },
  { name: 'doctor', load: async () => (await import('./commands/doctor.js')).doctorCommand },
  { name: 'github', load: async () => (await import('./commands/github.js')).githubCommand },
  { name: 'sandbox', load: async () => (await import('./commands/sandbox.js')).sandboxCommand },
  { name: 'keys', load: async () => (await import('./commands/keys.js')).keysCommand },
];

/** The usage text: loads every command for its line (only --help and a mistyped command need it). */
async function usage(): Promise<string> {
  const commands = await Promise.all(COMMANDS.map((c) => c.load()));
  return `usage: lugh [--env staging|production] [--env-path FILE]... <command>

commands:
${commands.map((c) => `  ${c.usage}`).join('\n')}

--env staging|production  read .env.staging or .env.prod from the current directory
--env-path FILE           read FILE (may be repeated)
Each file is followed by FILE.local (untracked secrets); the process environment wins over both.
(Not --env-file: Node 20 itself intercepts that flag.)`;
}

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
      runtime: { type: 'string' },
      'anonymise-rules': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  const [name, ...args] = positionals;
  if (values.help || !name) {
    process.stdout.write(`${await usage()}\n`);
    process.exit(name || values.help ? 0 : EXIT_CONFIG);
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) usageError(`lugh: unknown command "${name}"\n${await usage()}`);
  const files = [...(values['env-path'] ?? [])];
  if (values.env !== undefined) {
    if (values.env !== 'staging' && values.env !== 'production') {
      usageError(`lugh: --env must be staging or production, got "${values.env}"`);
    }
    files.unshift(ENV_FILE_NAMES[values.env]);
  }
  const env = loadEnvFiles(files);
  const command = await entry.load();
  try {
    return await command.run({ args, options: values, env });
  } catch (error) {
    // Whatever escapes is printed: it must not carry a secret that came from an env file
    // (the process environment alone would not know it).
    const stack = error instanceof Error ? error.stack : undefined;
    const text = stack
      ? (await import('./source-mapped-stack.js')).sourceMappedStack(stack)
      : error instanceof Error
        ? error.message
        : String(error);
    throw new Error(await redactedFor(env, text));
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).catch(async (error: unknown) => {
    // Secrets are unknown here if config failed to parse; the environment's values are redacted anyway.
    const text = error instanceof Error ? error.message : String(error);
    process.stderr.write(`lugh: ${await redactedFor(process.env, text)}\n`);
    process.exit(1);
  });
}
