-- The image each service of a deployment's set runs (lugh.yml; see
-- src/deployer/steps/build.ts), by service name: what the build step found, kept so a run
-- resumed after a crash starts each service on the image its build found, without
-- building again. NULL: one service, whose image is `image` as before. The down section
-- keeps it: the release before ignores it.
-- Up Migration

ALTER TABLE deployments ADD COLUMN IF NOT EXISTS service_images jsonb;

-- Down Migration

-- Nothing: the release before ignores the column.
SELECT 1;
