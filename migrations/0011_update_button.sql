-- Up Migration

-- A promotion whose develop is behind main (strict branch protection) offers one button that
-- updates develop from main; it is looked up like the Yes/No buttons. Its callback data has a
-- prefix of its own (pu:), which the release before ignores: it never reads one as a Yes.
ALTER TABLE promotion_buttons DROP CONSTRAINT promotion_buttons_action_check;
ALTER TABLE promotion_buttons ADD CONSTRAINT promotion_buttons_action_check
  CHECK (action IN ('approve', 'decline', 'update'));

-- Down Migration
DELETE FROM promotion_buttons WHERE action = 'update';
ALTER TABLE promotion_buttons DROP CONSTRAINT promotion_buttons_action_check;
ALTER TABLE promotion_buttons ADD CONSTRAINT promotion_buttons_action_check
  CHECK (action IN ('approve', 'decline'));
