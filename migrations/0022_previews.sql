-- Preview environments (issue #18, src/previews/): one row per pull request that has (or
-- had) a preview, per namespace (tests and the sandbox keep theirs apart from a real
-- lugh's). `generation` counts the requests made of a preview (a push, a start, a stop, a
-- close): a job carries the generation it was queued for and does nothing when the row has
-- moved on, so a newer head supersedes a queued older one and an out-of-order job is inert.
-- No secret is kept: a preview's database password is derived, never stored.
-- Up Migration

CREATE TABLE IF NOT EXISTS previews (
  namespace text NOT NULL DEFAULT '',
  pr integer NOT NULL CHECK (pr > 0),
  state text NOT NULL CHECK (state IN ('queued', 'building', 'migrating', 'starting', 'running', 'failed', 'stopped', 'closed')),
  head_sha text NOT NULL,
  head_ref text NOT NULL,
  running_sha text,
  author text NOT NULL,
  fork boolean NOT NULL DEFAULT false,
  -- A fork's head an admin asked to build (its code is untrusted: never built otherwise).
  approved_sha text,
  url text,
  reason text,
  -- Who stopped it from chat, when an admin did.
  stopped_by text,
  comment_id bigint,
  forge_deployment_id bigint,
  -- The head the forge deployment is for.
  forge_deployment_sha text,
  generation integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_push_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, pr)
);

-- Down Migration

-- Nothing: the release before ignores the table (dropping it would lose which previews run).
SELECT 1;
