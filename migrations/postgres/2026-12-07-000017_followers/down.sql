DROP TABLE follows;
ALTER TABLE campaigns DROP COLUMN prelaunch;
