DROP TRIGGER campaigns_fts_update;
DROP TRIGGER campaigns_fts_delete;
DROP TRIGGER campaigns_fts_insert;
DROP TABLE campaigns_fts;
