-- Up Migration

-- The migrations each deployment applied, as its migrate step heard them from the image's
-- migrate command (a `lugh.migrations` line), with why for those marked irreversible: what
-- /rollback checks before it takes the code back past them. A migration applied by no
-- deploy (e.g. `lugh start` on a fresh database) has no row.
CREATE TABLE deployment_migrations (
  deployment_id  bigint NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  name           text NOT NULL,
  -- Why it cannot be undone; NULL when it can.
  irreversible   text,
  PRIMARY KEY (deployment_id, name)
);
CREATE INDEX deployment_migrations_irreversible_idx ON deployment_migrations (deployment_id)
  WHERE irreversible IS NOT NULL;

-- Down Migration
DROP TABLE deployment_migrations;
