-- Sessions and refresh tokens.
--
-- A session is one login (or registration, or password reset): every access
-- token carries its id (the `sid` claim), and the account lookup that every
-- authenticated request makes anyway checks that the session is still open,
-- so ending a session ends its access tokens at once, on every replica.
-- client_address is the address the login limiter counted (X-Real-IP from a
-- trusted proxy, else the peer). last_used_at is refreshed at most once a
-- minute by that same lookup, so a request is not a write.
--
-- A refresh token is stored only as its SHA-256 (`hash`). Rotation retires it
-- (retired_at) and stores the pair that replaced it in `successor`, sealed with
-- a key derived from the retired token itself (which is never stored), so a
-- client retrying within the grace window gets the same pair, and a copy of
-- the database alone opens none of them.
--
-- Ending a session deletes nothing: ended sessions are pruned in small
-- batches. Deleting a user deletes their sessions; deactivating one ends them
-- (the trigger below, whoever deactivates: the API, manage, psql).
--
-- revoked_tokens is no longer read or written (a logout ends its session);
-- it stays until no replica of the previous version can run, which still
-- checks it on every request, and a later migration drops it.
CREATE TABLE sessions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    user_agent text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 256),
    client_address text NOT NULL DEFAULT '' CHECK (length(client_address) <= 64),
    ended_at timestamptz
);

-- A user's open sessions, newest first (GET /auth/sessions).
CREATE INDEX sessions_open_by_user_idx ON sessions (user_id, id DESC) WHERE ended_at IS NULL;
-- Pruning: ended sessions, and open ones idle beyond every token's life.
CREATE INDEX sessions_ended_idx ON sessions (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX sessions_idle_idx ON sessions (last_used_at) WHERE ended_at IS NULL;

CREATE TABLE refresh_tokens (
    hash bytea PRIMARY KEY CHECK (length(hash) = 32),
    session_id bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    retired_at timestamptz,
    successor bytea
);

CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

CREATE FUNCTION users_end_sessions_on_deactivation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE sessions SET ended_at = now() WHERE user_id = NEW.id AND ended_at IS NULL;
  RETURN NULL;
END;
$$;

CREATE TRIGGER users_deactivated_end_sessions AFTER UPDATE OF active ON users
  FOR EACH ROW WHEN (OLD.active AND NOT NEW.active)
  EXECUTE FUNCTION users_end_sessions_on_deactivation();
