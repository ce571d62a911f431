-- Deployment numbers are what people read ("deploy #12"), and they must run without gaps.
-- The bigserial's sequence burns a value on every INSERT … ON CONFLICT DO NOTHING that
-- conflicts (a claim that loses its race, a rollback tapped twice), on every insert that
-- fails, and up to 32 after a crash of the server. So a row takes the highest number + 1
-- as it is inserted, under a transaction-scoped advisory lock that serializes the inserts
-- of deployments until each commits (READ COMMITTED: the query after the lock sees the
-- previous holder's row). A row that is not inserted (a conflict, an error) takes nothing.
--
-- Who asked for a deployment is said by name, as they are everywhere else (@ada, not
-- "user 1001"), and a promotion's production deployment keeps what its report tells (the
-- pull request, the release, who promoted and approved, how long CI took), carried by the
-- handoff. For that a promotion keeps who asked for it by name and when its CI started and
-- passed (set by a trigger as its status enters waiting_ci and leaves it for
-- awaiting_approval, so every path through the promotion counts alike). The down section
-- keeps the new columns: the release before ignores them, and nothing is lost.
-- Up Migration

ALTER TABLE deployments ADD COLUMN IF NOT EXISTS requested_by_name text;
ALTER TABLE deployments ADD COLUMN IF NOT EXISTS context jsonb;
ALTER TABLE promotions ADD COLUMN IF NOT EXISTS requested_by_name text;
ALTER TABLE promotions ADD COLUMN IF NOT EXISTS ci_started_at timestamptz;
ALTER TABLE promotions ADD COLUMN IF NOT EXISTS ci_passed_at timestamptz;

CREATE FUNCTION promotions_ci_times() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'waiting_ci' AND OLD.status IS DISTINCT FROM 'waiting_ci' THEN
    NEW.ci_started_at := now();
    NEW.ci_passed_at := NULL;
  ELSIF NEW.status = 'awaiting_approval' AND OLD.status = 'waiting_ci' THEN
    NEW.ci_passed_at := now();
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER promotions_ci_times BEFORE UPDATE OF status ON promotions
  FOR EACH ROW EXECUTE FUNCTION promotions_ci_times();

CREATE FUNCTION deployments_next_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The release found running when lugh first started is #0 (0012), so the first deploy is #1.
  IF NEW.trigger = 'baseline' THEN
    NEW.id := 0;
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('lugh deployment numbers'));
  SELECT COALESCE(max(id), 0) + 1 INTO NEW.id FROM deployments;
  RETURN NEW;
END
$$;

CREATE TRIGGER deployments_next_number BEFORE INSERT ON deployments
  FOR EACH ROW EXECUTE FUNCTION deployments_next_number();

-- Down Migration

DROP TRIGGER promotions_ci_times ON promotions;
DROP FUNCTION promotions_ci_times();

DROP TRIGGER deployments_next_number ON deployments;
DROP FUNCTION deployments_next_number();
SELECT setval(pg_get_serial_sequence('deployments', 'id'), GREATEST(COALESCE(max(id), 0), 1)) FROM deployments;
