-- Up Migration

-- The buttons of a /rollback picker or a /restore list: who asked for them and until when
-- they hold. The buttons carry the offer's id (and a release's or backup's); a tap by anyone
-- else, or after expires_at, is refused. The rollback a picker makes is keyed by its offer
-- (deployments.request_key), so one picker makes at most one rollback, which then waits for
-- its requester's confirmation.
CREATE TABLE button_offers (
  id                 bigserial PRIMARY KEY,
  kind               text NOT NULL CHECK (kind IN ('rollback', 'restore')),
  env                text NOT NULL CHECK (env IN ('staging', 'production')),
  requested_by       bigint NOT NULL,
  requested_by_name  text,
  chat_id            bigint,
  created_at         timestamptz NOT NULL DEFAULT now(),
  expires_at         timestamptz NOT NULL
);

-- The release running before lugh's first deploy on a server: recorded once per environment
-- when lugh first starts (trigger 'baseline', succeeded, nothing run), so /rollback can offer it.
-- It takes id 0, not a sequence value: lugh's first deploy stays #1.
ALTER TABLE deployments DROP CONSTRAINT deployments_trigger_check;
ALTER TABLE deployments ADD CONSTRAINT deployments_trigger_check
  CHECK (trigger IN ('promotion', 'push', 'manual', 'rollback', 'baseline'));
CREATE UNIQUE INDEX deployments_one_baseline ON deployments (env) WHERE trigger = 'baseline';

-- Down Migration
DROP INDEX deployments_one_baseline;
DELETE FROM deployments WHERE trigger = 'baseline';
ALTER TABLE deployments DROP CONSTRAINT deployments_trigger_check;
ALTER TABLE deployments ADD CONSTRAINT deployments_trigger_check
  CHECK (trigger IN ('promotion', 'push', 'manual', 'rollback'));
DROP TABLE button_offers;
