-- Up Migration

-- Every privileged action, refusal and failure, appended and never updated.
CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  env         text NOT NULL CHECK (env IN ('staging', 'production')),
  actor_id    bigint,
  actor_name  text,
  action      text NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
  details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at DESC);

-- A develop -> main promotion requested from chat.
CREATE TABLE promotions (
  id            bigserial PRIMARY KEY,
  env           text NOT NULL CHECK (env IN ('staging', 'production')),
  requested_by  bigint NOT NULL,
  chat_id       bigint NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN (
                  'pending', 'waiting_ci', 'awaiting_approval', 'merging',
                  'merged', 'declined', 'cancelled', 'failed', 'expired')),
  base_ref      text NOT NULL DEFAULT 'main',
  head_ref      text NOT NULL DEFAULT 'develop',
  head_sha      text,
  merge_sha     text,
  pr_number     integer,
  approved_by   bigint,
  reason        text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz
);
-- At most one promotion in flight at a time: a second /promote is refused by the database.
CREATE UNIQUE INDEX promotions_one_in_flight ON promotions ((true))
  WHERE status IN ('pending', 'waiting_ci', 'awaiting_approval', 'merging');

-- One deploy of one commit to one environment.
CREATE TABLE deployments (
  id            bigserial PRIMARY KEY,
  env           text NOT NULL CHECK (env IN ('staging', 'production')),
  ref           text NOT NULL,
  sha           text,
  trigger       text NOT NULL CHECK (trigger IN ('promotion', 'push', 'manual', 'rollback')),
  promotion_id  bigint REFERENCES promotions (id),
  requested_by  bigint,
  status        text NOT NULL DEFAULT 'queued' CHECK (status IN (
                  'queued', 'running', 'succeeded', 'failed', 'rolled_back', 'cancelled')),
  step          text,
  previous_sha  text,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  -- One confirmed promotion becomes exactly one deployment, however often it is confirmed.
  CONSTRAINT deployments_one_per_promotion UNIQUE (promotion_id)
);
CREATE INDEX deployments_env_created_idx ON deployments (env, created_at DESC);

-- Each named step of a deployment as it runs.
CREATE TABLE deployment_steps (
  deployment_id  bigint NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
  step           text NOT NULL,
  status         text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
  detail         text,
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  PRIMARY KEY (deployment_id, step)
);

-- Named locks (e.g. "deploy:production") with an owner, a reason and an expiry.
CREATE TABLE locks (
  name         text PRIMARY KEY,
  owner        text NOT NULL,
  reason       text NOT NULL,
  acquired_at  timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  CHECK (expires_at > acquired_at)
);

-- Down Migration
DROP TABLE locks;
DROP TABLE deployment_steps;
DROP TABLE deployments;
DROP TABLE promotions;
DROP TABLE audit_log;
