-- Login attempts per client address and per email (POST /auth/login), kept in
-- the database so that the limit holds across replicas and restarts. An
-- attempt is counted before its password is hashed. A row is worthless once
-- expires_at has passed (the window or the back-off is over); logins delete
-- such rows a few at a time, so the table stays as small as the set of keys
-- tried in the last quarter of an hour.
CREATE TABLE login_attempts (
    key text PRIMARY KEY,             -- 'address:<IP or IPv6 /64>' or 'email:<lower case>'
    attempts integer NOT NULL,        -- counted in the current window or back-off
    window_start timestamptz NOT NULL,
    blocked_until timestamptz,        -- refused until then (NULL: not at the limit)
    expires_at timestamptz NOT NULL   -- forgotten from then on
);

CREATE INDEX login_attempts_expires_at_idx ON login_attempts (expires_at);
