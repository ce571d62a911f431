import { ENVIRONMENTS } from '../config/environments.js';
import type { CliCommand } from './command.js';

export const healthcheckCommand: CliCommand = {
  name: 'healthcheck',
  usage: "healthcheck  exit 0 when this instance's /healthz answers 200 (used by Docker)",
  // Reads APP_ENV and PORT only: a container whose configuration is broken is unhealthy, not crashed.
  async run({ env }) {
    const appEnv = env.APP_ENV === 'production' ? 'production' : 'staging';
    const port = Number(env.PORT ?? ENVIRONMENTS[appEnv].defaultPort);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3_000) });
      const body = await res.text();
      process.stdout.write(`${res.status} ${body}\n`);
      process.exit(res.status === 200 ? 0 : 1);
    } catch (error) {
      process.stdout.write(`unhealthy: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    }
  },
};
