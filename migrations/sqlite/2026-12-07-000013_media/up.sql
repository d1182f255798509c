-- Campaign media. An image is stored as three re-encoded variants under content-addressed keys
-- (the hash of the variant's bytes), so a URL never changes meaning and identical uploads
-- share their objects. media_pending lists keys whose objects may have no image row: written
-- before an upload puts its objects and when an image is deleted; the settlement pass deletes
-- the object once no image row refers to its key, then the entry.
CREATE TABLE campaign_images (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id      BIGINT NOT NULL REFERENCES campaigns (id),
    alt              TEXT NOT NULL,
    -- Of the largest variant (the original's, when it is narrower than the largest width).
    width            INTEGER NOT NULL,
    height           INTEGER NOT NULL,
    -- Of every variant: image/webp or image/jpeg.
    content_type     TEXT NOT NULL,
    small_key        TEXT NOT NULL,
    medium_key       TEXT NOT NULL,
    large_key        TEXT NOT NULL,
    -- Place in the campaign's gallery; NULL: not in it.
    gallery_position INTEGER,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX campaign_images_campaign_idx ON campaign_images (campaign_id, id);
CREATE INDEX campaign_images_created_idx ON campaign_images (created_at);
CREATE INDEX campaign_images_small_key_idx ON campaign_images (small_key);
CREATE INDEX campaign_images_medium_key_idx ON campaign_images (medium_key);
CREATE INDEX campaign_images_large_key_idx ON campaign_images (large_key);

CREATE TABLE update_images (
    update_id BIGINT NOT NULL REFERENCES campaign_updates (id) ON DELETE CASCADE,
    image_id  BIGINT NOT NULL REFERENCES campaign_images (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    PRIMARY KEY (update_id, position)
);
CREATE INDEX update_images_image_idx ON update_images (image_id);

CREATE TABLE media_pending (
    object_key TEXT PRIMARY KEY,
    since      TIMESTAMP NOT NULL
);
CREATE INDEX media_pending_since_idx ON media_pending (since);

ALTER TABLE campaigns ADD COLUMN cover_image_id BIGINT REFERENCES campaign_images (id) ON DELETE SET NULL;
ALTER TABLE reward_tiers ADD COLUMN image_id BIGINT REFERENCES campaign_images (id) ON DELETE SET NULL;
