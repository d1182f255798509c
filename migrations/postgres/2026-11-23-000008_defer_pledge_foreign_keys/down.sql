ALTER TABLE pledges ALTER CONSTRAINT pledges_campaign_id_fkey NOT DEFERRABLE;
ALTER TABLE pledges ALTER CONSTRAINT pledges_tier_id_fkey NOT DEFERRABLE;
