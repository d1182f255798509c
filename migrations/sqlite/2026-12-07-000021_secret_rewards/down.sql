ALTER TABLE reward_tiers DROP COLUMN secret_token;
ALTER TABLE reward_tiers DROP COLUMN visibility;
