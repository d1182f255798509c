-- A draft its creator has opened to the public as "coming soon", and who follows a campaign to
-- hear when it launches and when it is about to end.
ALTER TABLE campaigns ADD COLUMN prelaunch BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE follows (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (campaign_id, user_id)
);
CREATE INDEX follows_user_idx ON follows (user_id, campaign_id);
