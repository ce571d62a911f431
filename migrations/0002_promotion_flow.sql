-- Up Migration

-- What /promote shows and edits, and when it stops waiting for CI.
ALTER TABLE promotions
  ADD COLUMN pr_url                text,
  ADD COLUMN commit_count          integer,
  ADD COLUMN status_message_id     integer,
  ADD COLUMN prompt_message_id     integer,
  ADD COLUMN ci_deadline           timestamptz,
  ADD COLUMN tag                   text,
  ADD COLUMN github_deployment_id  bigint;

-- Inline buttons carry only an opaque id; everything they mean is looked up here.
CREATE TABLE promotion_buttons (
  id             text PRIMARY KEY,
  promotion_id   bigint NOT NULL REFERENCES promotions (id) ON DELETE CASCADE,
  action         text NOT NULL CHECK (action IN ('approve', 'decline')),
  -- Who may press it: the requester, or (two-person rule) any admin but the requester.
  bound_user_id  bigint,
  not_user_id    bigint,
  head_sha       text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  used_at        timestamptz,
  used_by        bigint
);
CREATE INDEX promotion_buttons_promotion_idx ON promotion_buttons (promotion_id);

-- GitHub does not retry deliveries, but redelivers on request with the same id.
CREATE TABLE webhook_deliveries (
  delivery_id  text PRIMARY KEY,
  event        text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE deployments
  ADD COLUMN job_id                text,
  ADD COLUMN github_deployment_id  bigint;

-- Down Migration
ALTER TABLE deployments DROP COLUMN github_deployment_id, DROP COLUMN job_id;
DROP TABLE webhook_deliveries;
DROP TABLE promotion_buttons;
ALTER TABLE promotions
  DROP COLUMN github_deployment_id, DROP COLUMN tag, DROP COLUMN ci_deadline,
  DROP COLUMN prompt_message_id, DROP COLUMN status_message_id, DROP COLUMN commit_count, DROP COLUMN pr_url;
