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
  /**
   * A container of a service set moved on (its state is in Postgres already:
   * `deployments.serviceProgress`); the progress message shows a line per service.
   */
  services?(deploymentId: number, env: AppEnv): Promise<void>;
  /**
   * The running step said how it goes (its detail is in Postgres already, see
   * `deployments.stepProgress`): a Swarm update's `updating 1/2 tasks`.
   */
  progress?(deploymentId: number, env: AppEnv): Promise<void>;
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
