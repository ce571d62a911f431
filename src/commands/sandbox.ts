import { type CliCommand, type Env, usageError } from './command.js';

/** The sandbox's entry points; src/sandbox/launcher implements them. */
export interface SandboxLauncher {
  runSandbox(env: Env, port: number, dir?: string, repo?: string): Promise<void>;
  runGitHubStandIn(port: number, repo: string | undefined): Promise<void>;
  runTelegramStandIn(port: number): Promise<void>;
}

// A computed specifier: the compiler does not follow it, so the stand-ins, the chat page and
// PGlite stay out of the production build and image; a checkout runs them through tsx.
const LAUNCHER = '../sandbox/launcher/index.js';

async function loadLauncher(): Promise<SandboxLauncher> {
  try {
    return ((await import(LAUNCHER)) as { launcher: SandboxLauncher }).launcher;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    return usageError(
      'lugh sandbox: the sandbox is not part of this build (production images leave it out); run it from a checkout: npm ci && npm run sandbox',
    );
  }
}

export const sandboxCommand: CliCommand = {
  name: 'sandbox',
  usage: `sandbox      both instances on this machine with no tokens: the Telegram stand-in with a
               web chat page, the GitHub stand-in over a seeded repository, embedded
               Postgres, a local redis-server  [--port P] [--dir D] [--repo DIR]
  sandbox telegram [--port P]   the Telegram Bot API stand-in alone
  sandbox github --repo DIR [--port P]   the GitHub REST API stand-in alone`,
  async run({ args, options, env }) {
    const port = Number(options.port ?? 8080);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      usageError(`lugh sandbox: --port must be a port number, got "${options.port}"`);
    }
    const part = args[0];
    if (part !== undefined && part !== 'telegram' && part !== 'github') {
      usageError(
        `lugh sandbox: unknown part "${part}" (try: lugh sandbox, lugh sandbox telegram, lugh sandbox github)`,
      );
    }
    const launcher = await loadLauncher();
    if (part === 'telegram') return launcher.runTelegramStandIn(port);
    if (part === 'github') return launcher.runGitHubStandIn(port, options.repo);
    return launcher.runSandbox(env, port, options.dir, options.repo);
  },
};
