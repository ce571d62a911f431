import { existsSync } from 'node:fs';
import path from 'node:path';
import { rulesFromFile } from '../app/anonymise-rules.js';
import { auditHost } from '../app/doctor.js';
import { loadEnvFiles } from '../config/env-files.js';
import type { AppEnv } from '../config/environments.js';
import { renderAuditText } from '../doctor/audit.js';
import { renderChatReach } from '../doctor/chat-reach.js';
import { type CliCommand, ENV_FILES, EXIT_CONFIG } from './command.js';

/**
 * `lugh doctor`: the isolation audit from the Docker host. Settings come from the running
 * containers; for one that is missing, from .env.staging / .env.prod (and their .local)
 * in `--dir` (the current directory unless given). Exits 1 when any check fails.
 */
export const doctorCommand: CliCommand = {
  name: 'doctor',
  usage: `doctor       the isolation audit of the live Docker host: both app containers, their
               networks, ports, databases, Redis prefixes, homes, tokens, limits and
               flags, and every preview container; exits 1 when a check fails; then
               which admins each bot cannot write to yet  [--staging-container NAME]
               [--production-container NAME] (default: the compose files' names)
               [--dir D] (where .env.staging and .env.prod are; default: here)
               [--runtime docker|swarm] (swarm: audit the two Swarm services instead;
               default: DEPLOY_RUNTIME of the env files)
               [--anonymise-rules FILE] (lugh.anonymise.yml to hold against
               production's database when staging_refresh is on there)`,
  async run({ options }) {
    const dir = options.dir ?? '.';
    const containers = { staging: options['staging-container'], production: options['production-container'] };
    const envFiles = (appEnv: AppEnv) => {
      const file = path.join(dir, ENV_FILES[appEnv]);
      return existsSync(file) ? { settings: loadEnvFiles([file], {}), from: file } : undefined;
    };
    const runtime =
      options.runtime ??
      envFiles('production')?.settings.DEPLOY_RUNTIME ??
      envFiles('staging')?.settings.DEPLOY_RUNTIME;
    if (runtime !== undefined && runtime !== 'docker' && runtime !== 'swarm') {
      process.stderr.write(`lugh doctor: --runtime must be docker or swarm, not ${runtime}\n`);
      process.exit(EXIT_CONFIG);
    }
    const rules = options['anonymise-rules'];
    const report = await auditHost(containers, envFiles, runtime, rules ? rulesFromFile(rules) : undefined);
    process.stdout.write(renderAuditText(report));
    // Which admins each bot cannot write to yet (asks Telegram; informs, exits as the audit says).
    process.stdout.write(await renderChatReach(report.staging, report.production));
    process.exit(report.failed > 0 ? 1 : 0);
  },
};
