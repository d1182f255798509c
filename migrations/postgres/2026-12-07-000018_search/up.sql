-- Full-text search over titles and blurbs: one tsvector per campaign, the title weighted A and
-- the blurb B, under a GIN index. It lives beside campaigns rather than in it, with a copy of
-- the campaign's status and category, so that a search ranks its matches without reading the
-- wide campaign rows, and the pledges' updates of a campaign's totals neither recompute nor
-- rewrite it: the trigger fires only when a title, blurb, status or category changes. The
-- 'simple' configuration folds case, keeps accents and stems nothing, as SQLite's index does.
CREATE FUNCTION campaign_search_document(title TEXT, blurb TEXT) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', blurb), 'B') $$;

CREATE TABLE campaign_search (
    campaign_id BIGINT PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    status      TEXT NOT NULL,
    category    TEXT,
    document    tsvector NOT NULL
);
INSERT INTO campaign_search (campaign_id, status, category, document)
SELECT id, status, category, campaign_search_document(title, blurb) FROM campaigns;
CREATE INDEX campaign_search_document_idx ON campaign_search USING GIN (document);

CREATE FUNCTION campaign_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO campaign_search (campaign_id, status, category, document)
    VALUES (NEW.id, NEW.status, NEW.category, campaign_search_document(NEW.title, NEW.blurb))
    ON CONFLICT (campaign_id) DO UPDATE
        SET status = EXCLUDED.status, category = EXCLUDED.category, document = EXCLUDED.document;
    RETURN NULL;
END
$$;
CREATE TRIGGER campaign_search_refresh AFTER INSERT OR UPDATE OF title, blurb, status, category ON campaigns
    FOR EACH ROW EXECUTE FUNCTION campaign_search_refresh();
