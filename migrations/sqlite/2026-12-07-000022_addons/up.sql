-- Add-ons: extra items sold beside a reward, each with its own stock, claimed in the pledge's
-- transaction by the same conditional UPDATE as a tier's units.
CREATE TABLE addons (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id    BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    title          TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    price_minor    BIGINT NOT NULL,
    -- NULL: unlimited.
    quantity       INTEGER,
    -- Units held by pledges that are active, collected or errored.
    claimed        INTEGER NOT NULL DEFAULT 0,
    max_per_pledge INTEGER NOT NULL DEFAULT 10,
    -- NULL: ships nothing; else JSON {"US": 500, "*": 1500} in minor units, per unit.
    shipping       TEXT,
    -- JSON array of the tier ids it may be added to; [] for any pledge, with or without a reward.
    tier_ids       TEXT NOT NULL DEFAULT '[]',
    starts_at      TIMESTAMP,
    ends_at        TIMESTAMP,
    visibility     TEXT NOT NULL DEFAULT 'public',
    secret_token   TEXT,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    CONSTRAINT addons_price_check CHECK (price_minor > 0),
    CONSTRAINT addons_quantity_check CHECK (quantity IS NULL OR quantity > 0),
    -- Never oversold, whatever the code does.
    CONSTRAINT addons_claimed_check CHECK (claimed >= 0 AND (quantity IS NULL OR claimed <= quantity)),
    CONSTRAINT addons_max_per_pledge_check CHECK (max_per_pledge BETWEEN 1 AND 1000),
    CONSTRAINT addons_window_check CHECK (starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at),
    CONSTRAINT addons_visibility_check CHECK (visibility IN ('public', 'secret')),
    CONSTRAINT addons_secret_token_check CHECK (visibility = 'public' OR secret_token IS NOT NULL)
);
CREATE INDEX addons_campaign_idx ON addons (campaign_id, id);

-- What a pledge holds of each add-on: JSON [{"addon_id", "quantity", "price_minor",
-- "shipping_fee_minor"}], the prices as they were when it was bought. Its event log keeps the
-- list each change set.
ALTER TABLE pledges ADD COLUMN addons TEXT NOT NULL DEFAULT '[]';
ALTER TABLE pledge_events ADD COLUMN addons TEXT;
