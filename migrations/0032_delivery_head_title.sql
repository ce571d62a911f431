-- Up Migration

-- /delivery's change failure rate counts a change followed, within 24 h, by a fix-forward:
-- the next change's head commit is a fix or a revert, read from its title (the first line of
-- its message). Staging records the title when /promote compares develop with main (the
-- compare lists it: no request of its own) and forgets it when the head moves; the handoff's
-- display-only report carries it to production's deployment. Other deploys (pushes,
-- /deploy) and rows from before this migration have none and are never fix-forwards.
ALTER TABLE promotions ADD COLUMN IF NOT EXISTS head_title text;
ALTER TABLE deployments ADD COLUMN IF NOT EXISTS head_title text;

-- Down Migration
ALTER TABLE deployments DROP COLUMN IF EXISTS head_title;
ALTER TABLE promotions DROP COLUMN IF EXISTS head_title;
