-- /previews' buttons (src/bot/features/previews.ts) are offers too: the admin who listed
-- the previews (or asked to tear one down) and until when the buttons hold. The offer
-- names no preview: each button carries its pull request number, checked against the
-- previews there are when it is tapped. A confirmation's offer is used once (`used_at`):
-- a second tap of its Yes does nothing again.
-- Up Migration

ALTER TABLE button_offers ADD COLUMN IF NOT EXISTS used_at timestamptz;

ALTER TABLE button_offers DROP CONSTRAINT IF EXISTS button_offers_kind_check;
ALTER TABLE button_offers ADD CONSTRAINT button_offers_kind_check
  CHECK (kind IN ('rollback', 'restore', 'preview'));

-- Down Migration

-- The column stays: the release before ignores it.

DELETE FROM button_offers WHERE kind = 'preview';
ALTER TABLE button_offers DROP CONSTRAINT IF EXISTS button_offers_kind_check;
ALTER TABLE button_offers ADD CONSTRAINT button_offers_kind_check
  CHECK (kind IN ('rollback', 'restore'));
