-- Emails waiting to be sent, written in the same transaction as the change that causes them.
-- (template, recipient, subject_id) is unique, so no change can queue the same email twice.
CREATE TABLE email_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    template        TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    recipient_name  TEXT NOT NULL,
    -- What the email is about: pledge:{id}, campaign:{id}, charge-attempt:{id}, ...
    subject_id      TEXT NOT NULL,
    -- The template's variables, a JSON object, as they were when the email was queued.
    context         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    -- Held by the worker sending it; an expired lease is taken over.
    lease_until     TIMESTAMP,
    last_error      TEXT,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    CONSTRAINT email_outbox_key UNIQUE (template, recipient, subject_id),
    CONSTRAINT email_outbox_status_check CHECK (status IN ('queued', 'sent', 'failed'))
);

CREATE INDEX email_outbox_due_idx ON email_outbox (status, next_attempt_at);

-- Set when the creator's "48 hours left" email is queued.
ALTER TABLE campaigns ADD COLUMN ending_notice_at TIMESTAMP;
