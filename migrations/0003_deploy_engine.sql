-- Up Migration

-- Where a deployment reports (the chat it was asked from, or the first admin's private
-- chat) and the one progress message it edits there, so a re-attached job edits the same.
ALTER TABLE deployments
  ADD COLUMN chat_id              bigint,
  ADD COLUMN progress_message_id  integer,
  ADD COLUMN final_message_id     integer,
  ADD COLUMN image                text,
  ADD COLUMN confirm_expires_at   timestamptz;

ALTER TABLE deployments DROP CONSTRAINT deployments_status_check;
ALTER TABLE deployments ADD CONSTRAINT deployments_status_check CHECK (status IN (
  'awaiting_confirmation', 'queued', 'running', 'succeeded', 'failed', 'rolled_back', 'cancelled'));

-- A GitHub Deployment (how a promotion on staging hands production its deploy) becomes
-- exactly one deployment of the instance that claims it.
CREATE UNIQUE INDEX deployments_one_per_github_deployment
  ON deployments (github_deployment_id) WHERE github_deployment_id IS NOT NULL;

-- Down Migration
DROP INDEX deployments_one_per_github_deployment;
ALTER TABLE deployments DROP CONSTRAINT deployments_status_check;
ALTER TABLE deployments ADD CONSTRAINT deployments_status_check CHECK (status IN (
  'queued', 'running', 'succeeded', 'failed', 'rolled_back', 'cancelled'));
ALTER TABLE deployments
  DROP COLUMN confirm_expires_at, DROP COLUMN image, DROP COLUMN final_message_id,
  DROP COLUMN progress_message_id, DROP COLUMN chat_id;
