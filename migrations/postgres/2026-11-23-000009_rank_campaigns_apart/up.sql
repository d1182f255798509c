-- Every pledge updates its campaign's totals. With `pledged_minor` and `backer_count` in the
-- "most funded" and "most backed" indexes, no such update could be HOT: each one added an
-- entry to every index of the table, and a campaign taking hundreds of pledges a second left
-- thousands of dead entries that each lookup of its row walked until vacuum removed them.
-- The listings now sort by ranked copies of the totals, which a pledge refreshes only when the
-- total has moved by 1 % or more (src/db/campaigns.rs, `adjust_totals`), and which are made
-- exact when the campaign closes. Between refreshes the update changes no indexed column and
-- is HOT; room left on each page (fillfactor) lets the new row version stay on its page.
ALTER TABLE campaigns
    ADD COLUMN ranked_pledged_minor BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN ranked_backer_count INTEGER NOT NULL DEFAULT 0;
UPDATE campaigns SET ranked_pledged_minor = pledged_minor, ranked_backer_count = backer_count;
DROP INDEX campaigns_most_backed_idx;
DROP INDEX campaigns_most_funded_idx;
CREATE INDEX campaigns_most_backed_idx ON campaigns (status, ranked_backer_count DESC, id DESC);
CREATE INDEX campaigns_most_funded_idx
    ON campaigns (status, ((ranked_pledged_minor * 10000) / goal_minor) DESC, id DESC);
ALTER TABLE campaigns SET (fillfactor = 70);
