CREATE TABLE campaigns (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id       BIGINT NOT NULL REFERENCES users (id),
    slug           TEXT NOT NULL,
    title          TEXT NOT NULL,
    blurb          TEXT NOT NULL DEFAULT '',
    description    TEXT NOT NULL DEFAULT '',
    category       TEXT,
    currency       TEXT NOT NULL,
    -- Money is always an integer count of the currency's minor unit.
    goal_minor     BIGINT,
    duration_days  INTEGER,
    status         TEXT NOT NULL DEFAULT 'draft',
    launched_at    TIMESTAMP,
    deadline       TIMESTAMP,
    -- Running totals of active pledges, kept in the pledge transaction.
    pledged_minor  BIGINT NOT NULL DEFAULT 0,
    backer_count   INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    CONSTRAINT campaigns_slug_key UNIQUE (slug),
    CONSTRAINT campaigns_status_check
        CHECK (status IN ('draft', 'live', 'funded', 'successful', 'failed', 'canceled', 'suspended')),
    CONSTRAINT campaigns_currency_check
        CHECK (currency IN ('USD', 'EUR', 'GBP', 'CAD', 'AUD', 'CHF', 'SEK', 'NOK', 'DKK', 'JPY')),
    CONSTRAINT campaigns_goal_check CHECK (goal_minor IS NULL OR goal_minor > 0),
    CONSTRAINT campaigns_duration_check CHECK (duration_days IS NULL OR duration_days BETWEEN 1 AND 60),
    CONSTRAINT campaigns_totals_check CHECK (pledged_minor >= 0 AND backer_count >= 0),
    CONSTRAINT campaigns_launched_check CHECK (
        status = 'draft'
        OR (launched_at IS NOT NULL AND deadline IS NOT NULL AND goal_minor IS NOT NULL AND duration_days IS NOT NULL)
    )
);

-- Public listing: one index per sort order, led by status (drafts are never listed).
CREATE INDEX campaigns_newest_idx ON campaigns (status, launched_at DESC, id DESC);
CREATE INDEX campaigns_ending_soon_idx ON campaigns (status, deadline, id);
CREATE INDEX campaigns_most_backed_idx ON campaigns (status, backer_count DESC, id DESC);
CREATE INDEX campaigns_most_funded_idx ON campaigns (status, ((pledged_minor * 10000) / goal_minor) DESC, id DESC);
CREATE INDEX campaigns_category_newest_idx ON campaigns (status, category, launched_at DESC, id DESC);
CREATE INDEX campaigns_owner_idx ON campaigns (owner_id, id DESC);

CREATE TABLE reward_tiers (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id        BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    title              TEXT NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    min_amount_minor   BIGINT NOT NULL,
    -- NULL: unlimited.
    quantity           INTEGER,
    -- Units held by pledges that are active, collected or errored.
    claimed            INTEGER NOT NULL DEFAULT 0,
    estimated_delivery TEXT NOT NULL,
    starts_at          TIMESTAMP,
    ends_at            TIMESTAMP,
    -- NULL: ships nothing; else JSON {"US": 500, "*": 1500} in minor units.
    shipping           TEXT,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    CONSTRAINT reward_tiers_min_amount_check CHECK (min_amount_minor > 0),
    CONSTRAINT reward_tiers_quantity_check CHECK (quantity IS NULL OR quantity > 0),
    -- Never oversold, whatever the code does.
    CONSTRAINT reward_tiers_claimed_check CHECK (claimed >= 0 AND (quantity IS NULL OR claimed <= quantity)),
    CONSTRAINT reward_tiers_window_check CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at)
);

CREATE INDEX reward_tiers_campaign_idx ON reward_tiers (campaign_id, min_amount_minor, id);

-- Append-only history of every status change (who, when, from, to, why).
CREATE TABLE campaign_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id  BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    -- NULL: the system (settlement).
    actor_id     BIGINT REFERENCES users (id),
    -- NULL for the creation of the draft.
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    reason       TEXT,
    created_at   TIMESTAMP NOT NULL
);

CREATE INDEX campaign_events_campaign_idx ON campaign_events (campaign_id, id);

CREATE TRIGGER campaign_events_append_only BEFORE UPDATE ON campaign_events
BEGIN
    SELECT RAISE(ABORT, 'campaign_events is append-only');
END;
