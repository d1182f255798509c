ALTER TABLE campaigns DROP COLUMN funding_model;
