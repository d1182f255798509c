-- Late pledges: once a campaign completes as successful, its creator may keep taking pledges,
-- each charged at once, until they close them or `late_pledges_until` passes (NULL: a year
-- after the deadline).
ALTER TABLE campaigns ADD COLUMN late_pledges BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE campaigns ADD COLUMN late_pledges_until TIMESTAMP;
-- A reward's price for late backers (NULL: its minimum), never below the minimum.
ALTER TABLE reward_tiers ADD COLUMN late_price_minor BIGINT
    CONSTRAINT reward_tiers_late_price_check CHECK (late_price_minor IS NULL OR late_price_minor >= min_amount_minor);
-- Made after the campaign's success: charged in its own request, and outside the campaign's
-- frozen figures.
ALTER TABLE pledges ADD COLUMN late BOOLEAN NOT NULL DEFAULT FALSE;
