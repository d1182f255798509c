CREATE TABLE pledges (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id        BIGINT NOT NULL REFERENCES campaigns (id),
    backer_id          BIGINT NOT NULL REFERENCES users (id),
    -- NULL: no reward. A tier that has ever had a pledge cannot be deleted.
    tier_id            BIGINT REFERENCES reward_tiers (id),
    -- Total charged at settlement, shipping included, in the campaign's minor unit.
    amount_minor       BIGINT NOT NULL,
    shipping_country   TEXT,
    shipping_fee_minor BIGINT NOT NULL DEFAULT 0,
    status             TEXT NOT NULL DEFAULT 'active',
    -- The payment provider's reference for the saved method (never card data).
    payment_method     TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    canceled_at        TIMESTAMP,
    released_at        TIMESTAMP,
    collected_at       TIMESTAMP,
    errored_at         TIMESTAMP,
    dropped_at         TIMESTAMP,
    refunded_at        TIMESTAMP,
    CONSTRAINT pledges_amount_check CHECK (amount_minor > 0 AND shipping_fee_minor >= 0 AND shipping_fee_minor < amount_minor),
    CONSTRAINT pledges_status_check
        CHECK (status IN ('active', 'canceled', 'released', 'collected', 'errored', 'dropped', 'refunded'))
);

-- One live pledge per backer per campaign, whatever races the code loses.
CREATE UNIQUE INDEX pledges_one_active_idx ON pledges (campaign_id, backer_id) WHERE status = 'active';
CREATE INDEX pledges_campaign_idx ON pledges (campaign_id, status, id);
CREATE INDEX pledges_backer_idx ON pledges (backer_id, id DESC);
CREATE INDEX pledges_tier_idx ON pledges (tier_id);

-- Append-only history of every pledge transition (who, when, from, to, why).
CREATE TABLE pledge_events (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pledge_id     BIGINT NOT NULL REFERENCES pledges (id),
    -- NULL: the system (settlement, a campaign's cancellation).
    actor_id      BIGINT REFERENCES users (id),
    from_status   TEXT,
    to_status     TEXT NOT NULL,
    reason        TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL,
    tier_id       BIGINT,
    created_at    TIMESTAMP NOT NULL
);

CREATE INDEX pledge_events_pledge_idx ON pledge_events (pledge_id, id);

-- Idempotency-Key records (Stripe's semantics), scoped to the user, kept 24 hours.
CREATE TABLE idempotency_keys (
    user_id         BIGINT NOT NULL REFERENCES users (id),
    idempotency_key TEXT NOT NULL,
    -- SHA-256 of method, path and canonical JSON body.
    request_hash    TEXT NOT NULL,
    -- NULL while the first request runs.
    response_status INTEGER,
    response_body   TEXT,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);

CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- The sandbox payment provider's own records: what a real provider would hold.
CREATE TABLE sandbox_charges (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key TEXT NOT NULL,
    payment_method  TEXT NOT NULL,
    amount_minor    BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    -- succeeded | failed
    status          TEXT NOT NULL,
    failure_code    TEXT,
    fee_minor       BIGINT NOT NULL,
    refunded_minor  BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    CONSTRAINT sandbox_charges_idempotency_key_key UNIQUE (idempotency_key)
);

CREATE TABLE sandbox_refunds (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key TEXT NOT NULL,
    charge_id       BIGINT NOT NULL REFERENCES sandbox_charges (id),
    amount_minor    BIGINT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    CONSTRAINT sandbox_refunds_idempotency_key_key UNIQUE (idempotency_key)
);

CREATE TRIGGER pledge_events_append_only BEFORE UPDATE ON pledge_events
    FOR EACH ROW EXECUTE FUNCTION forbid_update();
