import { existsSync } from 'node:fs';
import path from 'node:path';
import { auditHost } from '../app/doctor.js';
import { loadEnvFiles } from '../config/env-files.js';
import { renderAuditText } from '../doctor/audit.js';
import { renderChatReach } from '../doctor/chat-reach.js';
import { type CliCommand, ENV_FILES } from './command.js';

/**
 * `lugh doctor`: the isolation audit from the Docker host. Settings come from the running
 * containers; for one that is missing, from .env.staging / .env.prod (and their .local)
 * in `--dir` (the current directory unless given). Exits 1 when any check fails.
 */
export const doctorCommand: CliCommand = {
  name: 'doctor',
  usage: `doctor       the isolation audit of the live Docker host: both app containers, their
               networks, ports, databases, Redis prefixes, homes, tokens, limits and
               flags; exits 1 when a check fails; then which admins each bot
               cannot write to yet  [--staging-container NAME]
               [--production-container NAME] (default: the compose files' names)
               [--dir D] (where .env.staging and .env.prod are; default: here)`,
  async run({ options }) {
    const dir = options.dir ?? '.';
    const containers = { staging: options['staging-container'], production: options['production-container'] };
    const report = await auditHost(containers, (appEnv) => {
      const file = path.join(dir, ENV_FILES[appEnv]);
      return existsSync(file) ? { settings: loadEnvFiles([file], {}), from: file } : undefined;
    });
    process.stdout.write(renderAuditText(report));
    // Which admins each bot cannot write to yet (asks Telegram; informs, exits as the audit says).
    process.stdout.write(await renderChatReach(report.staging, report.production));
    process.exit(report.failed > 0 ? 1 : 0);
  },
};
