-- One row per address that asked for a reset or verification mail
-- (POST /auth/password/forgot, /auth/verify/resend), written by every such
-- request in the transaction that may queue the mail.
--
-- Why: the answer must take the same time whether or not the address has an
-- account. Queuing a mail writes (a token and an outbox row), so its commit
-- waits for the WAL to reach the disk; a request for an unknown address used
-- to write nothing and commit without that wait, a few milliseconds sooner,
-- enough to tell the two apart. Now every request writes this row, so every
-- commit waits for one flush. The row is also the lock that serialises
-- concurrent requests for one address (the known account's row lock did
-- that before), so the hourly count on account_tokens that follows sees the
-- mails of every request that went first.
--
-- `email` is lower(email) as the database folds it, the key account_tokens'
-- count uses. Rows older than an hour are deleted a few at a time by later
-- requests, as login_attempts' are.
CREATE TABLE mail_requests (
    email text PRIMARY KEY,
    requested_at timestamptz NOT NULL
);

CREATE INDEX mail_requests_requested_at_idx ON mail_requests (requested_at);
