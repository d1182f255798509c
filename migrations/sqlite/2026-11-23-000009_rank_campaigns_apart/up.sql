-- The listings sort by ranked copies of the totals, which a pledge refreshes only when the
-- total has moved by 1 % or more (src/db/campaigns.rs, `adjust_totals`), and which are made
-- exact when the campaign closes: a pledge's update of its campaign then rewrites no index
-- entry of the "most funded" and "most backed" orders. (On PostgreSQL this is what makes the
-- update HOT; see that tree's migration.)
ALTER TABLE campaigns ADD COLUMN ranked_pledged_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN ranked_backer_count INTEGER NOT NULL DEFAULT 0;
UPDATE campaigns SET ranked_pledged_minor = pledged_minor, ranked_backer_count = backer_count;
DROP INDEX campaigns_most_backed_idx;
DROP INDEX campaigns_most_funded_idx;
CREATE INDEX campaigns_most_backed_idx ON campaigns (status, ranked_backer_count DESC, id DESC);
CREATE INDEX campaigns_most_funded_idx
    ON campaigns (status, ((ranked_pledged_minor * 10000) / goal_minor) DESC, id DESC);
