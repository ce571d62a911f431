import type { AppEnv } from '../config/environments.js';

/** The named steps of a deploy, in order (DESIGN §4). */
export const DEPLOY_STEPS = [
  'resolve',
  'build',
  'backup',
  'migrate',
  'start',
  'health',
  'switch',
  'verify',
  'cleanup',
  'record',
] as const;
export type DeployStep = (typeof DEPLOY_STEPS)[number];

export type DeployOutcome = 'succeeded' | 'failed' | 'rolled_back';

/** How the deployer reports, implemented by the bot (the deployer never imports it). */
export interface DeployNotifier {
  /** A step started; the deployment and its steps are in Postgres already. */
  step(deploymentId: number, env: AppEnv, step: DeployStep): Promise<void>;
  finished(
    deploymentId: number,
    env: AppEnv,
    outcome: {
      status: DeployOutcome;
      sha?: string;
      /** The step that failed. */
      step?: DeployStep;
      message: string;
      logTail?: readonly string[];
    },
  ): Promise<void>;
}
