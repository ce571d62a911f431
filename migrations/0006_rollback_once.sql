-- Up Migration

-- A /rollback tapped twice, or by two admins, deploys once; the database decides, not the
-- bot. The message a rollback's buttons sit on is claimed by one deployment (its request
-- key), and one release is rolled back to at most once at a time.
ALTER TABLE deployments ADD COLUMN request_key text;
CREATE UNIQUE INDEX deployments_one_per_request_key ON deployments (request_key)
  WHERE request_key IS NOT NULL;
CREATE UNIQUE INDEX deployments_one_rollback_in_flight ON deployments (env, sha)
  WHERE trigger = 'rollback' AND status IN ('queued', 'running');

-- Down Migration
DROP INDEX deployments_one_rollback_in_flight;
DROP INDEX deployments_one_per_request_key;
ALTER TABLE deployments DROP COLUMN request_key;
