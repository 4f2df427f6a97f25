-- Authentication. password holds an Argon2id hash (libsodium's
-- crypto_pwhash_str), never the password; rows from before this migration keep
-- NULL there and cannot log in until `manage create_admin` (or a future reset)
-- gives them one. Revoked tokens are kept in the database, not in memory, so a
-- logout holds on every replica and across restarts; a row is useless once its
-- token would have expired, and logouts prune those.
ALTER TABLE users ADD COLUMN password text;
ALTER TABLE users ADD COLUMN admin boolean NOT NULL DEFAULT false;

CREATE TABLE revoked_tokens (
    jti text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

CREATE INDEX revoked_tokens_expires_at_idx ON revoked_tokens (expires_at);
