ALTER TABLE pledges DROP COLUMN referral;
DROP TABLE referral_tags;
