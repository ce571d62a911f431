import type Docker from 'dockerode';
import { TEST_LABEL } from './swarm.js';

const S = 1_000_000_000;

/** The seeded app's health check: its /healthz answers 2xx (the base image's busybox wget, as its Dockerfile uses). */
const HEALTHZ = ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/healthz'];

/** The tasks of a service that should run, each running. */
export async function runningTasksOf(docker: Docker, service: string) {
  const tasks = await docker.listTasks({
    filters: JSON.stringify({ service: [service], 'desired-state': ['running'] }),
  });
  return tasks.filter((t) => t.Status?.State === 'running');
}

/**
 * The seeded app as a stack would run it: a Swarm service labelled for the test run, with
 * short health checks (every second, patient with a busy machine: a check that times out
 * counts as failed), a Docker secret mounted and an overlay network joined when asked;
 * waits up to a minute for its tasks to run.
 */
export async function createAppService(
  docker: Docker,
  options: {
    readonly run: string;
    readonly name: string;
    readonly image: string;
    readonly replicas: number;
    readonly env?: readonly string[];
    readonly secret?: { readonly id: string; readonly name: string };
    /** An overlay network its tasks join (the bench's /healthz poller asks them there). */
    readonly network?: string;
    readonly retries: number;
    readonly startPeriodS: number;
  },
): Promise<void> {
  const { run, name, secret } = options;
  await docker.createService({
    Name: name,
    Labels: { [TEST_LABEL]: run },
    TaskTemplate: {
      ContainerSpec: {
        Image: options.image,
        ...(options.env ? { Env: [...options.env] } : {}),
        Labels: { [TEST_LABEL]: run },
        ...(secret
          ? {
              Secrets: [
                {
                  SecretID: secret.id,
                  SecretName: secret.name,
                  File: { Name: secret.name, UID: '0', GID: '0', Mode: 0o444 },
                },
              ],
            }
          : {}),
        HealthCheck: {
          Test: HEALTHZ,
          Interval: 1 * S,
          Timeout: 5 * S,
          Retries: options.retries,
          StartPeriod: options.startPeriodS * S,
        },
        StopGracePeriod: 2 * S,
      },
      RestartPolicy: { Condition: 'any', Delay: 1 * S },
      ...(options.network ? { Networks: [{ Target: options.network }] } : {}),
    },
    Mode: { Replicated: { Replicas: options.replicas } },
  });
  const until = Date.now() + 60_000;
  while ((await runningTasksOf(docker, name)).length < options.replicas && Date.now() < until)
    await new Promise((r) => setTimeout(r, 500));
}
