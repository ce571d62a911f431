// What the deploy, traffic and Swarm app sections start from: the seeded app's repository on
// the GitHub stand-in, a migrated production database, and the stores and builder a runner
// needs; each section adds its runtime and cleans up what it made.
import type Docker from 'dockerode';
import type { DeployNotifier } from '../src/deployer/deploy-notifier.js';
import { createImageBuilder } from '../src/deployer/image-builder.js';
import { createDeploymentStore } from '../src/store/deployments.js';
import { runMigrations } from '../src/store/migrate.js';
import { createPool } from '../src/store/pool.js';
import { ensureBaseImage, uniqueName } from '../tests/helpers/docker.js';
import { silentLogger as logger } from '../tests/helpers/logger.js';
import { startSeededGitHub } from '../tests/helpers/seeded-github.js';
import { createBenchDatabase } from './promote.js';

/** The seeded app for the section `label` (names `lugh-bench-<label>-…`, token, pool name). */
export async function seededApp(docker: Docker, databaseUrl: string, label: string, token: string) {
  const run = uniqueName(`lugh-bench-${label}`);
  const baseImage = await ensureBaseImage(docker);
  const { gh, forge, seeded } = await startSeededGitHub(token);
  const db = await createBenchDatabase(databaseUrl, 'prod_lugh');
  await runMigrations({ databaseUrl: db.url, logger });
  const pool = createPool(db.url, `bench-${label}`);
  const quiet: DeployNotifier = { step: async () => {}, finished: async () => {} };
  return {
    run,
    name: `${run}-app`,
    baseImage,
    gh,
    forge,
    seeded,
    db,
    pool,
    deployments: createDeploymentStore(pool),
    builder: createImageBuilder({ docker, logger, repository: run }),
    quiet,
  };
}
