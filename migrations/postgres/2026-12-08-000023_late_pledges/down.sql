ALTER TABLE pledges DROP COLUMN late;
ALTER TABLE reward_tiers DROP COLUMN late_price_minor;
ALTER TABLE campaigns DROP COLUMN late_pledges_until;
ALTER TABLE campaigns DROP COLUMN late_pledges;
