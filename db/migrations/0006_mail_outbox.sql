-- Mail waiting to be sent (the transactional outbox): whoever decides that a
-- mail goes out writes its row in the same transaction as the change it
-- reports, so a mail is never lost (the change committed) nor invented (it
-- rolled back). The senders of every replica claim due rows with FOR UPDATE
-- SKIP LOCKED; a row is pending while sent_at and failed_at are both NULL.
CREATE TABLE mail_outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient text NOT NULL,
    template text NOT NULL,            -- the template it was rendered from (test_mail, ...)
    subject text NOT NULL,
    text_body text NOT NULL,           -- the text/plain part
    html_body text NOT NULL,           -- the text/html part
    -- Fixed when the row is written: a resend after a crash between sending
    -- and marking carries the same Message-ID, so the receiver can tell.
    message_id text NOT NULL UNIQUE,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    failed_at timestamptz,             -- given up after MAIL_RETRY_HOURS
    last_error text,
    CHECK (recipient !~ '[[:cntrl:]]' AND subject !~ '[[:cntrl:]]')  -- no header injection
);

-- What a sender asks for (the due pending rows, oldest first) and what
-- /metrics counts: only pending rows, so the index stays as small as the queue.
CREATE INDEX mail_outbox_pending_idx ON mail_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;
