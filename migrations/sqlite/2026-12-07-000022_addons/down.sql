ALTER TABLE pledge_events DROP COLUMN addons;
ALTER TABLE pledges DROP COLUMN addons;
DROP TABLE addons;
