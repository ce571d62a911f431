import { describe, expect, it } from 'vitest';
import { DEPLOY_STEPS } from '../../../src/deployer/deploy-notifier.js';
import { DEPLOY_PLAN } from '../../../src/deployer/steps/deploy-steps.js';

describe('the deploy’s steps', () => {
  it('are one module per named step, in the order the chat and the records know', () => {
    expect(DEPLOY_PLAN.map((s) => s.name)).toEqual([...DEPLOY_STEPS]);
  });
});
