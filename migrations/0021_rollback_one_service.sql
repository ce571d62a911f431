-- /rollback <service> alone (src/bot/features/rollback.ts): a rollback of one service of a
-- set, which the deployer deploys alone (resolve restricts the set to it, migrate is
-- skipped, nothing else is switched or removed). `only_service` names it (NULL: the whole
-- environment, as before); such a deployment is not a release of the environment (the
-- /rollback picker and the running version skip it). A /rollback picker's offer keeps the
-- service its buttons are for, so no button carries it. The down section keeps the
-- columns: the release before ignores them.
-- Up Migration

ALTER TABLE deployments ADD COLUMN IF NOT EXISTS only_service text;
ALTER TABLE button_offers ADD COLUMN IF NOT EXISTS service text;

-- Down Migration

-- Nothing: the release before ignores the columns.
SELECT 1;
