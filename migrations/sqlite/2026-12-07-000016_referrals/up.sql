-- Which link brought which backer: a creator's named tags, each with a short code, and the
-- ref each pledge came with (a tag's code, or direct | search | embed | other).
CREATE TABLE referral_tags (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX referral_tags_campaign_idx ON referral_tags (campaign_id, id);
CREATE UNIQUE INDEX referral_tags_name_idx ON referral_tags (campaign_id, name);

ALTER TABLE pledges ADD COLUMN referral TEXT;
