// A set deploy in a process of its own, for a test to kill -9 at a failpoint:
// node --import tsx tests/helpers/set-deploy-child.ts <deployment id>, with LUGH_SET_DEPLOY
// (JSON: database URL, container name, proxy, input) and LUGH_FAILPOINTS in its environment.
import { createFailpoints } from '../../src/deployer/failpoints.js';
import { createPool } from '../../src/store/pool.js';
import { createDockerClient } from './docker.js';
import { type SetDeployInput, setDeployRunner } from './set-deploy.js';

const job = JSON.parse(process.env.LUGH_SET_DEPLOY ?? '{}') as {
  databaseUrl: string;
  containerName: string;
  proxyAdminUrl?: string;
  failpointDir: string;
  input: SetDeployInput;
};
const pool = createPool(job.databaseUrl, 'set-deploy-child');
const runner = setDeployRunner({
  pool,
  docker: createDockerClient(),
  containerName: job.containerName,
  input: job.input,
  proxyAdminUrl: job.proxyAdminUrl,
  failpoints: createFailpoints(process.env.LUGH_FAILPOINTS, { dir: job.failpointDir }),
});
const outcome = await runner.run(Number(process.argv[2]));
process.stdout.write(`outcome ${outcome}\n`);
await pool.end();
process.exit(0);
