-- Up Migration

-- The outbox of chat notifications. A source inserts a row under a key that names its
-- event (ON CONFLICT DO NOTHING), so an event seen again, by a restarted process or a
-- second one, is never sent twice; a sender sends due rows and records the outcome.
CREATE TABLE notifications (
  id               bigserial PRIMARY KEY,
  dedup_key        text NOT NULL UNIQUE,
  chat_id          bigint NOT NULL,
  -- HTML, already redacted.
  text             text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  attempts         integer NOT NULL DEFAULT 0,
  -- Also the claim: a sender moves it forward while it sends, so no other sender takes the row.
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  message_id       bigint,
  last_error       text,
  gave_up_at       timestamptz
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at)
  WHERE sent_at IS NULL AND gave_up_at IS NULL;

-- A period in which an environment was degraded, as one instance's health watch saw it:
-- persisted so a restart neither announces it again nor forgets to announce its end.
CREATE TABLE health_episodes (
  id          bigserial PRIMARY KEY,
  env         text NOT NULL CHECK (env IN ('staging', 'production')),
  subject     text NOT NULL,
  reason      text NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz
);
CREATE UNIQUE INDEX health_episodes_one_open ON health_episodes (env, subject) WHERE ended_at IS NULL;

-- Down Migration
DROP TABLE health_episodes;
DROP TABLE notifications;
