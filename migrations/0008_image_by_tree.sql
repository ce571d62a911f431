-- Up Migration

-- Images are found by the commit's tree and build arguments too: what a deployment ran, and
-- where its image came from. image_origin: 'reused' (the image the environment upstream,
-- staging, ran: which deployment of it, since when), 'built' (no image of this tree: the
-- tree differs from what staging ran), 'rebuilt' (staging ran this tree, its image is gone),
-- 'kept' (an image built before that staging never ran). Null: nothing compared (staging,
-- or a deploy from before this migration). No foreign key: staging's rows live in its own
-- database.
ALTER TABLE deployments
  ADD COLUMN image_id text,
  ADD COLUMN tree_sha text,
  ADD COLUMN image_origin text CHECK (image_origin IN ('reused', 'built', 'rebuilt', 'kept')),
  ADD COLUMN image_reused_from_env text,
  ADD COLUMN image_reused_from_deployment bigint,
  ADD COLUMN image_reused_since timestamptz;

-- Down Migration
ALTER TABLE deployments
  DROP COLUMN image_reused_since,
  DROP COLUMN image_reused_from_deployment,
  DROP COLUMN image_reused_from_env,
  DROP COLUMN image_origin,
  DROP COLUMN tree_sha,
  DROP COLUMN image_id;
