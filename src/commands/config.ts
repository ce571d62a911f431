import { describeConfig } from '../config/index.js';
import { type CliCommand, readConfig } from './command.js';

export const configCommand: CliCommand = {
  name: 'config',
  usage: 'config       print the effective configuration (secrets redacted), or every problem',
  async run({ env }) {
    const config = readConfig(env);
    const { flags, ...vars } = describeConfig(config) as { flags: Record<string, string> } & Record<
      string,
      unknown
    >;
    const lines = Object.entries(vars).map(([k, v]) => `${k}=${String(v)}`);
    lines.push(...Object.entries(flags).map(([k, v]) => `flag ${k}: ${v}`));
    lines.push(...config.warnings.map((w) => `warning: ${w}`));
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
