import { migrate } from '../app/migrate.js';
import { type CliCommand, loggerFor, readConfig } from './command.js';

export const migrateCommand: CliCommand = {
  name: 'migrate',
  usage: "migrate      apply migrations/ to this instance's database",
  async run({ env }) {
    const config = readConfig(env);
    await migrate(config, loggerFor(config));
  },
};
