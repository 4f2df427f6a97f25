-- The life of an account: changes, deactivation, deletion, password changes.
--
-- row_version is the version of the row a client saw (the ETag of GET
-- /users/{id}; PATCH and DELETE compare If-Match with it). A trigger bumps it
-- on every UPDATE that changes something, whoever runs it (the service,
-- manage, an operator in psql), so no change can forget it.
--
-- token_version is copied into every token issued for the user and compared
-- with the row on each authenticated request: bumping it revokes every token
-- of that user at once (password change, deactivation, a password reset by
-- manage create_admin).
--
-- active: users who can log in (they have a password: registered users and
-- admins) become active, so nobody is locked out by this migration. Users made
-- by the open POST /users keep active = false, as the original contract shows
-- them.
ALTER TABLE users ADD COLUMN row_version bigint NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN token_version bigint NOT NULL DEFAULT 0;

UPDATE users SET active = true WHERE password IS NOT NULL;

CREATE FUNCTION users_bump_row_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW IS DISTINCT FROM OLD THEN
    NEW.row_version := OLD.row_version + 1;
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER users_row_version BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION users_bump_row_version();
