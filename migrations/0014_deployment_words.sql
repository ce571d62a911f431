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
-- handoff. The down section keeps both columns: the release before ignores them, and
-- nothing is lost.
-- Up Migration

ALTER TABLE deployments ADD COLUMN IF NOT EXISTS requested_by_name text;
ALTER TABLE deployments ADD COLUMN IF NOT EXISTS context jsonb;

CREATE FUNCTION deployments_next_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('lugh deployment numbers'));
  SELECT COALESCE(max(id), 0) + 1 INTO NEW.id FROM deployments;
  RETURN NEW;
END
$$;

CREATE TRIGGER deployments_next_number BEFORE INSERT ON deployments
  FOR EACH ROW EXECUTE FUNCTION deployments_next_number();

-- Down Migration

DROP TRIGGER deployments_next_number ON deployments;
DROP FUNCTION deployments_next_number();
SELECT setval(pg_get_serial_sequence('deployments', 'id'), GREATEST(COALESCE(max(id), 0), 1)) FROM deployments;
