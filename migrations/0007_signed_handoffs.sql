-- Up Migration

-- One promotion, one production deploy, however many GitHub Deployments carry its id
-- (a retried POST can create two): the promotion id a signed handoff names is recorded on
-- the deployment it became, once. No foreign key: promotions live in staging's database.
ALTER TABLE deployments ADD COLUMN promotion_id bigint;
CREATE UNIQUE INDEX deployments_one_per_promotion_id
  ON deployments (promotion_id) WHERE promotion_id IS NOT NULL;

-- GitHub Deployments production refused (unsigned, forged, replayed, not on main, …):
-- each is refused, marked failed on GitHub, audited and announced once, however often a
-- poll or a webhook sees it again.
CREATE TABLE refused_handoffs (
  github_deployment_id bigint PRIMARY KEY,
  env                  text NOT NULL,
  sha                  text NOT NULL,
  creator              text,
  promotion_id         bigint,
  reason               text NOT NULL,
  refused_at           timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE refused_handoffs;
DROP INDEX deployments_one_per_promotion_id;
ALTER TABLE deployments DROP COLUMN promotion_id;
