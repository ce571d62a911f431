// One instance's deploy worker in a process of its own, for a test to kill -9 at a
// failpoint: `lugh start`'s deploy parts (the engine's runner with its real steps, the
// GitHub forge, the Telegram notifier, Postgres, Redis, Docker) under a BullMQ worker of
// the environment's queue, with lock and stall settings short enough for a test (the
// product's are 60 s and 30 s: DEPLOY_STALLS). Its environment is an instance's
// (instanceEnv), LUGH_FAILPOINTS included. Run as
// node --import tsx tests/helpers/deploy-worker-child.ts

import { openConnections } from '../../src/app/connections.js';
import { buildDeployParts } from '../../src/app/deploy-parts.js';
import { forgeOf } from '../../src/app/forge.js';
import { createBot } from '../../src/bot/create-bot.js';
import { createConfig, secretsOf, secretsSeen } from '../../src/config/index.js';
import { createDeployWorker, DEPLOY_STALLS } from '../../src/deployer/deploy-worker.js';
import { createLogger } from '../../src/logger.js';
import { createRedactor } from '../../src/redact.js';
import { createAuditLog } from '../../src/store/audit-log.js';
import { createDockerClient } from './docker.js';

const config = createConfig(process.env);
const logger = createLogger({ level: 'warn', secrets: secretsOf(config), destination: process.stderr });
const connections = openConnections(config, `lugh-${config.appEnv}-test-worker`);
const redact = createRedactor(secretsSeen(config));
const { bot } = createBot({ config, logger, audit: createAuditLog(connections.pool, config.appEnv), redact });
const parts = buildDeployParts(config, logger, {
  docker: async () => createDockerClient(),
  connections,
  forge: forgeOf(config, logger, undefined, redact),
  redact,
  api: () => bot.api,
});
const engine = await parts.engine();
const worker = createDeployWorker(connections.redis.duplicate(), config.redisPrefix, engine.runner, logger, {
  ...DEPLOY_STALLS,
  lockDurationMs: 2_000,
  stalledIntervalMs: 1_000,
});
worker.on('completed', (job, outcome) =>
  process.stdout.write(`deployment ${job.data.deploymentId} ${String(outcome)}\n`),
);
process.stdout.write('worker ready\n');
process.on('SIGTERM', () => {
  void worker
    .close()
    .then(() => parts.notifier.flush())
    .then(() => connections.close())
    .finally(() => process.exit(0));
});
