ALTER TABLE campaigns DROP COLUMN ending_notice_at;
DROP TABLE email_outbox;
