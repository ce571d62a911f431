-- Up Migration

-- A /rollback picker: who asked for it and until when its buttons hold. Its buttons carry
-- the offer's id and a release's; a tap by anyone else, or after expires_at, is refused.
-- The rollback a picker makes is keyed by its offer (deployments.request_key), so one
-- picker makes at most one rollback, which then waits for its requester's confirmation.
CREATE TABLE rollback_offers (
  id                 bigserial PRIMARY KEY,
  env                text NOT NULL CHECK (env IN ('staging', 'production')),
  requested_by       bigint NOT NULL,
  requested_by_name  text,
  chat_id            bigint,
  created_at         timestamptz NOT NULL DEFAULT now(),
  expires_at         timestamptz NOT NULL
);

-- Down Migration
DROP TABLE rollback_offers;
