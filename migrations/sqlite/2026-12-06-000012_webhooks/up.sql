-- Outbound webhooks. An event is written to webhook_events in the transaction of the change it
-- reports; the delivery worker fans it out to the endpoints that want it (one delivery per
-- event and endpoint) and sends each delivery until the receiver answers 2xx or the retries
-- run out.
CREATE TABLE webhook_endpoints (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Registered by an admin: receives every event of every campaign.
    platform        BOOLEAN NOT NULL DEFAULT FALSE,
    url             TEXT NOT NULL,
    -- JSON array of event types, or ["*"].
    events          TEXT NOT NULL,
    -- JSON array of campaign ids; NULL: all of the owner's campaigns.
    campaign_ids    TEXT,
    enabled         BOOLEAN NOT NULL,
    -- The signing secret, encrypted with WEBHOOK_SECRETS_KEY; the one it replaced signs too
    -- until previous_secret_until.
    secret          TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    -- The first failure since the last success: an endpoint failing for 5 days is disabled.
    failing_since   TIMESTAMP,
    disabled_reason TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_owner_idx ON webhook_endpoints (owner_id);

CREATE TABLE webhook_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type    TEXT NOT NULL,
    campaign_id   BIGINT,
    -- The campaign's creator: whose endpoints the event is for (besides platform ones).
    creator_id    BIGINT,
    -- Only this endpoint (a ping).
    endpoint_id   BIGINT REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- The request body, as sent: {"type", "timestamp", "data"}.
    payload       TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    fanned_out_at TIMESTAMP
);
CREATE INDEX webhook_events_unfanned_idx ON webhook_events (id) WHERE fanned_out_at IS NULL;

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         BIGINT NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint_id      BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP NOT NULL,
    lease_until      TIMESTAMP,
    last_attempt_at  TIMESTAMP,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       TIMESTAMP NOT NULL,
    delivered_at     TIMESTAMP,
    CONSTRAINT webhook_deliveries_event_endpoint_key UNIQUE (event_id, endpoint_id),
    CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'succeeded', 'failed'))
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);
