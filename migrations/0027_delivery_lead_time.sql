-- Up Migration

-- Lead time for changes (/delivery) starts at the oldest commit a promotion shipped. Staging
-- records it when /promote compares develop with main; production records it on the deploy
-- a signed handoff became (the handoff payload carries it). Rows from before this migration
-- have none, and /delivery says how many of a window's promoted deploys lack it.
ALTER TABLE promotions ADD COLUMN IF NOT EXISTS first_commit_at timestamptz;
ALTER TABLE deployments ADD COLUMN IF NOT EXISTS first_commit_at timestamptz;
CREATE INDEX IF NOT EXISTS deployments_env_finished_idx ON deployments (env, finished_at);

-- Down Migration
DROP INDEX IF EXISTS deployments_env_finished_idx;
ALTER TABLE deployments DROP COLUMN IF EXISTS first_commit_at;
ALTER TABLE promotions DROP COLUMN IF EXISTS first_commit_at;
