DROP TABLE campaign_events;
DROP TABLE reward_tiers;
DROP TABLE campaigns;
