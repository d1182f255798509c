ALTER TABLE reward_tiers DROP COLUMN image_id;
ALTER TABLE campaigns DROP COLUMN cover_image_id;
DROP TABLE media_pending;
DROP TABLE update_images;
DROP TABLE campaign_images;
