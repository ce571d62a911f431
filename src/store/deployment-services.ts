// The services of a deployment (an environment declared as a set in lugh.yml): the set it
// deployed, and the state of each of its containers, a row per replica, which the progress
// message and /status read. Part of the deployment store.
import type { Pool } from './pool.js';

/** Where one container of a set stands in its deployment, in the order a deploy moves it. */
export const SERVICE_STATES = [
  'waiting',
  'starting',
  'health',
  'switching',
  'switched',
  'verified',
  'failed',
  'rolled_back',
] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];

export interface ServiceProgress {
  readonly service: string;
  readonly replica: number;
  readonly container: string;
  readonly state: ServiceState;
  /** What the state needs said: why it failed, what it rolled back to … */
  readonly detail: string | null;
  readonly updatedAt: Date;
}

export function deploymentServices(pool: Pool, clean: (text: string | undefined) => string | null) {
  return {
    /**
     * Records the set a deployment deploys (as lugh.yml declared it, resolved) and every
     * container of it as waiting, in the order given; again on a resumed run, the states
     * are kept.
     */
    async setServices(
      deploymentId: number,
      set: unknown,
      containers: ReadonlyArray<{
        readonly service: string;
        readonly replica: number;
        readonly name: string;
      }>,
    ): Promise<void> {
      await pool.query('UPDATE deployments SET services = $2 WHERE id = $1', [
        deploymentId,
        JSON.stringify(set),
      ]);
      if (containers.length === 0) return;
      await pool.query(
        `INSERT INTO deployment_services (deployment_id, service, replica, position, container, state)
         SELECT $1, c.service, c.replica, c.position, c.container, 'waiting'
           FROM unnest($2::text[], $3::int[], $4::text[]) WITH ORDINALITY AS c(service, replica, container, position)
         ON CONFLICT (deployment_id, service, replica) DO NOTHING`,
        [
          deploymentId,
          containers.map((c) => c.service),
          containers.map((c) => c.replica),
          containers.map((c) => c.name),
        ],
      );
    },

    /** One container of the set moved on. */
    async serviceState(
      deploymentId: number,
      container: { readonly service: string; readonly replica: number },
      state: ServiceState,
      detail?: string,
    ): Promise<void> {
      await pool.query(
        `UPDATE deployment_services SET state = $4, detail = $5, updated_at = now()
          WHERE deployment_id = $1 AND service = $2 AND replica = $3`,
        [deploymentId, container.service, container.replica, state, clean(detail)],
      );
    },

    /** The set a deployment deployed, as recorded (undefined: one service, the app container). */
    async servicesOf(deploymentId: number): Promise<unknown> {
      const { rows } = await pool.query('SELECT services FROM deployments WHERE id = $1', [deploymentId]);
      return rows[0]?.services ?? undefined;
    },

    /** The image each service of the set runs, by service name, as the build step found them. */
    async setServiceImages(deploymentId: number, images: Readonly<Record<string, string>>): Promise<void> {
      await pool.query('UPDATE deployments SET service_images = $2 WHERE id = $1', [
        deploymentId,
        JSON.stringify(images),
      ]);
    },

    /** Every container of a deployment's set, in the order the deploy moves them. */
    async serviceProgress(deploymentId: number): Promise<ServiceProgress[]> {
      const { rows } = await pool.query(
        `SELECT service, replica, container, state, detail, updated_at
           FROM deployment_services WHERE deployment_id = $1
          ORDER BY position`,
        [deploymentId],
      );
      return rows.map((r) => ({
        service: r.service,
        replica: r.replica,
        container: r.container,
        state: r.state,
        detail: r.detail,
        updatedAt: r.updated_at,
      }));
    },
  };
}
