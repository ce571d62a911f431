-- Up Migration

-- Telegram groups that became supergroups (a new chat id: Telegram's migrate_to_chat_id),
-- so a configured chat id (PROMOTE_CHAT_IDS, NOTIFY_CHAT_ID) keeps working until the
-- operator updates the setting, across restarts.
CREATE TABLE chat_migrations (
  from_chat_id  bigint PRIMARY KEY,
  to_chat_id    bigint NOT NULL,
  migrated_at   timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE chat_migrations;
