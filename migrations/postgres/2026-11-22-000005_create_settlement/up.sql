-- Frozen at the deadline, and when the campaign completes.
ALTER TABLE campaigns ADD COLUMN final_pledged_minor BIGINT;
ALTER TABLE campaigns ADD COLUMN final_backer_count INTEGER;
ALTER TABLE campaigns ADD COLUMN closed_at TIMESTAMP;
ALTER TABLE campaigns ADD COLUMN completed_at TIMESTAMP;

-- Charging bookkeeping: attempts made, when the next retry is due, and a lease that keeps two
-- settlement runs from working on the same pledge at once.
ALTER TABLE pledges ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pledges ADD COLUMN next_attempt_at TIMESTAMP;
ALTER TABLE pledges ADD COLUMN lease_until TIMESTAMP;
ALTER TABLE pledges ADD COLUMN failure_code TEXT;

CREATE INDEX pledges_retry_idx ON pledges (status, next_attempt_at);

-- One row per charge attempt, written before the provider is called: a run that finds one
-- still pending replays its idempotency key instead of charging again.
CREATE TABLE charge_attempts (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pledge_id          BIGINT NOT NULL REFERENCES pledges (id),
    attempt            INTEGER NOT NULL,
    idempotency_key    TEXT NOT NULL,
    payment_method     TEXT NOT NULL,
    amount_minor       BIGINT NOT NULL,
    currency           TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'pending',
    provider_charge_id TEXT,
    fee_minor          BIGINT,
    failure_code       TEXT,
    created_at         TIMESTAMP NOT NULL,
    finished_at        TIMESTAMP,
    CONSTRAINT charge_attempts_key UNIQUE (idempotency_key),
    CONSTRAINT charge_attempts_pledge_attempt_key UNIQUE (pledge_id, attempt),
    CONSTRAINT charge_attempts_status_check CHECK (status IN ('pending', 'succeeded', 'failed'))
);

-- Double-entry ledger: a transaction's entries sum to zero; both tables are append-only.
CREATE TABLE ledger_transactions (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- charge | processing_fee | platform_fee | payout | refund
    kind         TEXT NOT NULL,
    campaign_id  BIGINT NOT NULL REFERENCES campaigns (id),
    pledge_id    BIGINT REFERENCES pledges (id),
    currency     TEXT NOT NULL,
    -- What caused it (charge attempt, campaign completion, refund): never posted twice.
    reference    TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    CONSTRAINT ledger_transactions_reference_key UNIQUE (reference)
);

CREATE TABLE ledger_entries (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id BIGINT NOT NULL REFERENCES ledger_transactions (id),
    -- backers | escrow:campaign:{id} | processor_fees | platform_revenue | creator_payable:campaign:{id}
    account        TEXT NOT NULL,
    -- Signed minor units: money flows from negative to positive entries.
    amount_minor   BIGINT NOT NULL
);

CREATE INDEX ledger_entries_transaction_idx ON ledger_entries (transaction_id);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account);
CREATE INDEX ledger_transactions_campaign_idx ON ledger_transactions (campaign_id);

CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;

CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
