import { backupStep } from './backup.js';
import { buildStep } from './build.js';
import { cleanupStep } from './cleanup.js';
import { healthStep } from './health.js';
import { migrateStep } from './migrate.js';
import { recordStep } from './record.js';
import { resolveStep } from './resolve.js';
import { startStep } from './start.js';
import type { Step } from './step.js';
import { switchStep } from './switch.js';
import { verifyStep } from './verify.js';

/** A deploy, step by step, in the order of DEPLOY_STEPS. */
export const DEPLOY_PLAN: readonly Step[] = [
  resolveStep,
  buildStep,
  backupStep,
  migrateStep,
  startStep,
  healthStep,
  switchStep,
  verifyStep,
  cleanupStep,
  recordStep,
];
