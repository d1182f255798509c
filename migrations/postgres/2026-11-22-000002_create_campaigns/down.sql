DROP TABLE campaign_events;
DROP FUNCTION forbid_update();
DROP TABLE reward_tiers;
DROP TABLE campaigns;
