DROP TABLE survey_responses;
DROP TABLE surveys;
DROP INDEX pledges_delivered_idx;
ALTER TABLE pledges DROP COLUMN delivered_at;
ALTER TABLE pledges DROP COLUMN shipped_at;
ALTER TABLE pledges DROP COLUMN tracking_number;
ALTER TABLE pledges DROP COLUMN carrier;
ALTER TABLE pledges DROP COLUMN fulfilment_status;
