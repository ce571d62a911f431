-- An environment may be a set of services (lugh.yml in the deployed repository, see
-- src/deployer/service-set.ts): a deployment keeps the set it deployed (NULL: one service,
-- the app container, as before) and the state of each of its containers, a row per
-- replica, which the one progress message and /status read. The down section keeps
-- them: the release before ignores them, and nothing is lost.
-- Up Migration

ALTER TABLE deployments ADD COLUMN IF NOT EXISTS services jsonb;

CREATE TABLE IF NOT EXISTS deployment_services (
  deployment_id bigint NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  service text NOT NULL,
  replica integer NOT NULL CHECK (replica >= 1),
  -- The order the deploy moves the containers in (service by service, replica by replica).
  position integer NOT NULL,
  container text NOT NULL,
  state text NOT NULL CHECK (state IN ('waiting', 'starting', 'health', 'switching', 'switched',
    'verified', 'failed', 'rolled_back')),
  detail text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (deployment_id, service, replica)
);

-- Down Migration

-- Nothing: the release before ignores the column and the table.
SELECT 1;
