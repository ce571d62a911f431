import { runDeployment } from '../app/deploy-run.js';
import { type CliCommand, loggerFor, readConfig, usageError } from './command.js';

export const deployRunCommand: CliCommand = {
  name: 'deploy-run',
  usage: 'deploy-run ID  run deployment ID to its end (what a deploy runner container executes)',
  async run({ args, env }) {
    const id = Number(args[0]);
    if (!Number.isInteger(id) || id < 1)
      usageError('lugh deploy-run: give the deployment id, e.g. lugh deploy-run 42');
    const config = readConfig(env);
    process.exit((await runDeployment(config, loggerFor(config), id)) ? 0 : 1);
  },
};
