import { existsSync } from 'node:fs';
import path from 'node:path';
import { checkRulesFile } from '../app/anonymise-rules.js';
import { loadEnvFiles } from '../config/env-files.js';
import { APP_ENVS, otherEnv } from '../config/environments.js';
import { describeConfig } from '../config/index.js';
import type { OtherEnvironment } from '../config/preview-checks.js';
import { type CliCommand, ENV_FILES, type Env, EXIT_CONFIG, readConfig } from './command.js';

/**
 * The other environment's env file (and its .local) in `dir`, when there: the settings this
 * one's must not point at (previews: production's database, network, Redis login).
 */
function otherEnvironment(env: Env, dir: string): OtherEnvironment | undefined {
  const appEnv = APP_ENVS.find((e) => e === env.APP_ENV?.trim());
  if (!appEnv) return undefined;
  const file = path.join(dir, ENV_FILES[otherEnv(appEnv)]);
  return existsSync(file) ? { env: loadEnvFiles([file], {}), from: file } : undefined;
}

export const configCommand: CliCommand = {
  name: 'config',
  usage: `config       print the effective configuration (secrets redacted), or every problem;
               preview settings are also checked against the other environment's env
               file in --dir (default: here); --anonymise-rules FILE also checks that
               lugh.anonymise.yml: valid, and naming every table and column of this
               environment's database (its schema only); exits 2 when it does not`,
  async run({ env, options }) {
    const config = readConfig(env, { other: otherEnvironment(env, options.dir ?? '.') });
    const { flags, ...vars } = describeConfig(config) as { flags: Record<string, string> } & Record<
      string,
      unknown
    >;
    const lines = Object.entries(vars).map(([k, v]) => `${k}=${String(v)}`);
    lines.push(...Object.entries(flags).map(([k, v]) => `flag ${k}: ${v}`));
    lines.push(...config.warnings.map((w) => `warning: ${w}`));
    process.stdout.write(`${lines.join('\n')}\n`);
    const rules = options['anonymise-rules'];
    if (rules) {
      const check = await checkRulesFile(rules, config.databaseUrl);
      process.stdout.write(
        `anonymise rules: ${check.ok ? 'ok' : 'FAIL'} — ${check.evidence}${check.fix ? `\n  fix: ${check.fix}` : ''}\n`,
      );
      if (!check.ok) process.exit(EXIT_CONFIG);
    }
  },
};
