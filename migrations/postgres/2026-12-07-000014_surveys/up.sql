-- After the campaign: where each collected pledge's reward is, and the backer survey that asks
-- for the address to send it to.
ALTER TABLE pledges ADD COLUMN fulfilment_status TEXT NOT NULL DEFAULT 'unfulfilled';
ALTER TABLE pledges ADD COLUMN carrier TEXT;
ALTER TABLE pledges ADD COLUMN tracking_number TEXT;
ALTER TABLE pledges ADD COLUMN shipped_at TIMESTAMP;
ALTER TABLE pledges ADD COLUMN delivered_at TIMESTAMP;
CREATE INDEX pledges_delivered_idx ON pledges (delivered_at) WHERE delivered_at IS NOT NULL;

-- One per campaign. questions: a JSON array checked by domain::survey. Editable until sent_at;
-- answers are accepted until lock_at.
CREATE TABLE surveys (
    campaign_id BIGINT PRIMARY KEY REFERENCES campaigns (id),
    questions   TEXT NOT NULL,
    sent_at     TIMESTAMP,
    lock_at     TIMESTAMP,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- One per surveyed pledge: written when its invitation is queued (the survey is sent, or the
-- pledge is collected later). answers: a JSON object keyed by question id, NULL until answered
-- and again once erased (ADDRESS_RETENTION_DAYS after delivery, or the backer's account is
-- deleted and nothing is left to ship).
CREATE TABLE survey_responses (
    pledge_id    BIGINT PRIMARY KEY REFERENCES pledges (id),
    campaign_id  BIGINT NOT NULL REFERENCES campaigns (id),
    answers      TEXT,
    invited_at   TIMESTAMP NOT NULL,
    reminders    INTEGER NOT NULL DEFAULT 0,
    last_sent_at TIMESTAMP NOT NULL,
    answered_at  TIMESTAMP,
    erased_at    TIMESTAMP
);
CREATE INDEX survey_responses_campaign_idx ON survey_responses (campaign_id, pledge_id);
CREATE INDEX survey_responses_unanswered_idx ON survey_responses (last_sent_at)
    WHERE answered_at IS NULL;
