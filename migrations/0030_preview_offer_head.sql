-- A fork's confirmation (/previews, src/bot/features/previews.ts) keeps the commit it showed
-- the admin: its Yes approves that commit only (the service refuses when the pull request's
-- head moved since), never whatever the head is when Yes is tapped.
-- Up Migration

ALTER TABLE button_offers ADD COLUMN IF NOT EXISTS head_sha text;

-- Down Migration

-- The column stays: the release before ignores it (its confirmations approve the head then).
