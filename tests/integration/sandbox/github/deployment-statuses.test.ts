// GitHub's auto_inactive, as its description words it: a success "adds a new inactive status
// to all prior non-transient … deployments with the same … environment name", and "only to
// deployments that had a success state"; auto_inactive: false adds none.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoParams as base, type Sandbox, startSandbox } from './fixture.js';

describe('GitHub stand-in: deployment statuses and auto_inactive', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  const deploy = async (environment: string, transient = false) => {
    const { data } = await sandbox.octokit.rest.repos.createDeployment({
      ...base,
      ref: sandbox.developSha,
      environment,
      transient_environment: transient,
      required_contexts: [],
      auto_merge: false,
    });
    if (!('id' in data)) throw new Error('no deployment');
    return data.id;
  };
  const status = (
    id: number,
    state: 'success' | 'failure' | 'inactive',
    extra: Record<string, unknown> = {},
  ) => sandbox.octokit.rest.repos.createDeploymentStatus({ ...base, deployment_id: id, state, ...extra });
  const states = async (id: number) =>
    (await sandbox.octokit.rest.repos.listDeploymentStatuses({ ...base, deployment_id: id })).data.map(
      (s) => s.state,
    );

  it('retires earlier successful non-transient deployments of the environment only', async () => {
    const succeeded = await deploy('qa');
    await status(succeeded, 'success');
    const failed = await deploy('qa');
    await status(failed, 'failure');
    const transient = await deploy('qa', true);
    await status(transient, 'success');
    const other = await deploy('staging');
    await status(other, 'success');
    const latest = await deploy('qa');
    await status(latest, 'success', {
      environment_url: 'https://qa.example/',
      log_url: 'https://ci.example/9',
    });

    expect(await states(succeeded)).toEqual(['inactive', 'success']);
    expect(await states(failed)).toEqual(['failure']);
    expect(await states(transient)).toEqual(['success']);
    expect(await states(other)).toEqual(['success']);
    const { data } = await sandbox.octokit.rest.repos.listDeploymentStatuses({
      ...base,
      deployment_id: latest,
    });
    expect(data[0]).toMatchObject({
      state: 'success',
      environment_url: 'https://qa.example/',
      log_url: 'https://ci.example/9',
      target_url: 'https://ci.example/9',
    });
  });

  it('adds none with auto_inactive false; a transient deployment made inactive stays so', async () => {
    const first = await deploy('uat');
    await status(first, 'success');
    const second = await deploy('uat');
    await status(second, 'success', { auto_inactive: false });
    expect(await states(first)).toEqual(['success']);
    const preview = await deploy('preview/pr-7', true);
    await status(preview, 'success', { environment_url: 'http://pr-7.preview.localhost/' });
    await status(preview, 'inactive');
    expect(await states(preview)).toEqual(['inactive', 'success']);
    const { data } = await sandbox.octokit.rest.repos.getDeployment({ ...base, deployment_id: preview });
    expect(data).toMatchObject({ transient_environment: true, production_environment: false });
  });
});
