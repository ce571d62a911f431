-- Staging's record of the refreshes production handed it (src/refresh/apply-dump.ts): each
-- signed handoff carries a random nonce, accepted once; a replayed handoff is refused.
-- And /refresh staging's confirmation buttons are button offers of kind 'refresh'.
-- Up Migration

CREATE TABLE IF NOT EXISTS refresh_handoffs (
  nonce text PRIMARY KEY,
  sha256 text NOT NULL,
  source_commit text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- /refresh staging's confirmation is a button offer too (src/bot/features/refresh.ts).
ALTER TABLE button_offers DROP CONSTRAINT IF EXISTS button_offers_kind_check;
ALTER TABLE button_offers ADD CONSTRAINT button_offers_kind_check
  CHECK (kind IN ('rollback', 'restore', 'preview', 'refresh'));

-- Down Migration

DELETE FROM button_offers WHERE kind = 'refresh';
ALTER TABLE button_offers DROP CONSTRAINT IF EXISTS button_offers_kind_check;
ALTER TABLE button_offers ADD CONSTRAINT button_offers_kind_check
  CHECK (kind IN ('rollback', 'restore', 'preview'));
DROP TABLE IF EXISTS refresh_handoffs;
