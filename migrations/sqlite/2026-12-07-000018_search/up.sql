-- Full-text search over titles and blurbs. The index keeps no copy of the text (it reads it
-- from campaigns); the triggers fire only when a title or blurb changes, so pledges, which
-- update other columns, never touch it. Case is folded, accents are kept, as on PostgreSQL.
CREATE VIRTUAL TABLE campaigns_fts USING fts5 (
    title, blurb,
    content = 'campaigns', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 0'
);
INSERT INTO campaigns_fts (rowid, title, blurb) SELECT id, title, blurb FROM campaigns;

CREATE TRIGGER campaigns_fts_insert AFTER INSERT ON campaigns BEGIN
    INSERT INTO campaigns_fts (rowid, title, blurb) VALUES (new.id, new.title, new.blurb);
END;
CREATE TRIGGER campaigns_fts_delete AFTER DELETE ON campaigns BEGIN
    INSERT INTO campaigns_fts (campaigns_fts, rowid, title, blurb) VALUES ('delete', old.id, old.title, old.blurb);
END;
CREATE TRIGGER campaigns_fts_update AFTER UPDATE OF title, blurb ON campaigns BEGIN
    INSERT INTO campaigns_fts (campaigns_fts, rowid, title, blurb) VALUES ('delete', old.id, old.title, old.blurb);
    INSERT INTO campaigns_fts (rowid, title, blurb) VALUES (new.id, new.title, new.blurb);
END;
