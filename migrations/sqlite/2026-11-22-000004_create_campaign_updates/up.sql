CREATE TABLE campaign_updates (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id  BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    author_id    BIGINT NOT NULL REFERENCES users (id),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    -- Only backers (and the creator, and admins) read the body; others see the title.
    backers_only BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMP NOT NULL
);

CREATE INDEX campaign_updates_campaign_idx ON campaign_updates (campaign_id, id DESC);
