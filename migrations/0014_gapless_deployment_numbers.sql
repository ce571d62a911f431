-- Deployment numbers are what people read ("deploy #12"), and they must run without gaps.
-- The bigserial's sequence burns a value on every INSERT … ON CONFLICT DO NOTHING that
-- conflicts (a claim that loses its race, a rollback tapped twice), on every insert that
-- fails, and up to 32 after a crash of the server. So a row takes the highest number + 1
-- as it is inserted, under a transaction-scoped advisory lock that serializes the inserts
-- of deployments until each commits (READ COMMITTED: the query after the lock sees the
-- previous holder's row). A row that is not inserted (a conflict, an error) takes nothing.
-- Up Migration

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
