-- lugh:irreversible drops deployments.promotion_id and its values; the down migration brings the column back empty

-- Up Migration

-- A promotion lives in staging's database and hands production its deploy as a GitHub
-- Deployment (claimed once: deployments_one_per_github_deployment), so no deployment row
-- ever refers to a promotion of its own database: the column and its constraint go.
ALTER TABLE deployments DROP CONSTRAINT deployments_one_per_promotion;
ALTER TABLE deployments DROP COLUMN promotion_id;

-- Down Migration
ALTER TABLE deployments ADD COLUMN promotion_id bigint REFERENCES promotions (id);
ALTER TABLE deployments ADD CONSTRAINT deployments_one_per_promotion UNIQUE (promotion_id);
