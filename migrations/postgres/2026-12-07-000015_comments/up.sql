-- What backers and the creator say on a campaign and on each of its updates. One level of
-- replies (parent_id names a top-level comment of the same thread). deleted_at keeps a deleted
-- comment's place when it has replies (its body is blanked); hidden_at is an admin's decision.
CREATE TABLE comments (
    id          BIGSERIAL PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    update_id   BIGINT REFERENCES campaign_updates (id),
    parent_id   BIGINT REFERENCES comments (id),
    author_id   BIGINT NOT NULL REFERENCES users (id),
    by_creator  BOOLEAN NOT NULL,
    body        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    edited_at   TIMESTAMP,
    deleted_at  TIMESTAMP,
    hidden_at   TIMESTAMP
);
CREATE INDEX comments_thread_idx ON comments (campaign_id, update_id, id) WHERE parent_id IS NULL;
CREATE INDEX comments_parent_idx ON comments (parent_id, id) WHERE parent_id IS NOT NULL;
CREATE INDEX comments_author_idx ON comments (author_id, created_at);

-- One report per user per comment; resolved when an admin hides or unhides the comment.
CREATE TABLE comment_reports (
    id          BIGSERIAL PRIMARY KEY,
    comment_id  BIGINT NOT NULL REFERENCES comments (id),
    reporter_id BIGINT NOT NULL REFERENCES users (id),
    reason      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);
CREATE UNIQUE INDEX comment_reports_once_idx ON comment_reports (comment_id, reporter_id);

-- How far each campaign's creator has been sent the daily digest of new comments.
CREATE TABLE comment_digests (
    campaign_id BIGINT PRIMARY KEY REFERENCES campaigns (id),
    through_at  TIMESTAMP NOT NULL
);
