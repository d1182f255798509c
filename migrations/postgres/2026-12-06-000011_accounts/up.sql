-- The account lifecycle: a verified address, recovery, two-factor authentication, per-account
-- login throttling, disabling by an admin and deletion (pseudonymisation).
ALTER TABLE users ADD COLUMN email_verified_at TIMESTAMP;
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
-- Set when the person was erased; the row stays for the pledges, campaigns and ledger entries.
ALTER TABLE users ADD COLUMN deleted_at TIMESTAMP;
-- Base32. Set at enrolment; two-factor authentication is on once totp_enabled_at is set.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMP;
-- The last time step whose code was accepted: a code works once.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
-- Failed passwords (and second factors) in the window that began at failed_logins_since.
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_logins_since TIMESTAMP;
ALTER TABLE users ADD COLUMN login_locked_until TIMESTAMP;

-- Links sent by email: verify an address (new_email set when it is a change of address) or
-- reset a password. Only the SHA-256 of the token is kept.
CREATE TABLE account_tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    token_hash  TEXT NOT NULL,
    new_email   TEXT,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP,
    CONSTRAINT account_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT account_tokens_purpose_check CHECK (purpose IN ('verify_email', 'change_email', 'reset_password'))
);
CREATE INDEX account_tokens_user_purpose_idx ON account_tokens (user_id, purpose);

-- Two-factor recovery codes, each usable once; only the SHA-256 of a code is kept.
CREATE TABLE recovery_codes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP,
    CONSTRAINT recovery_codes_user_code_key UNIQUE (user_id, code_hash)
);

-- Whom an email was for, beyond the address it went to: an account's export lists its emails,
-- and deleting it pseudonymises them, whatever address the account had at the time.
ALTER TABLE email_outbox ADD COLUMN user_id BIGINT REFERENCES users (id);
UPDATE email_outbox SET user_id = (SELECT u.id FROM users u WHERE u.email = email_outbox.recipient);
CREATE INDEX email_outbox_user_id_idx ON email_outbox (user_id);
