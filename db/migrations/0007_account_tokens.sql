-- Ways back into an account: email verification and password reset.
--
-- email_verified: the user proved they read mail at their address (a
-- verification link, or a password reset, which also goes by mail). Users
-- who can log in today (they have a password) were accepted before this rule
-- existed, so they are marked verified: nobody is locked out when
-- REQUIRE_VERIFIED_EMAIL is turned on. Users made by the open POST /users
-- (no password) and every new registration start unverified.
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;

-- A backfill, not a change anyone made: the row versions (the ETags clients
-- hold) stay as they are.
ALTER TABLE users DISABLE TRIGGER users_row_version;
UPDATE users SET email_verified = true WHERE password IS NOT NULL;
ALTER TABLE users ENABLE TRIGGER users_row_version;

-- The tokens the mails carry. Only the SHA-256 of a token is stored: a copy
-- of this table (a backup, a replica, a leak) opens no account. A token is
-- good for its purpose once (used_at), until expires_at; `email` is the
-- address it was mailed to, so a verification proves that address only (an
-- admin's change of the email leaves the old address's tokens worthless),
-- and the hourly limit of mails per address counts on it.
CREATE TABLE account_tokens (
    token_hash text PRIMARY KEY,       -- hex SHA-256 of the token
    purpose text NOT NULL CHECK (purpose IN ('reset', 'verify')),
    user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The per-address count: mails of one purpose to one address in the last hour.
CREATE INDEX account_tokens_email_idx ON account_tokens (lower(email), purpose, created_at);
-- A reset ends the user's other reset tokens; a deleted user's go with them.
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id);
