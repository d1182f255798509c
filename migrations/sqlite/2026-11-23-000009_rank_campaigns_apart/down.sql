DROP INDEX campaigns_most_backed_idx;
DROP INDEX campaigns_most_funded_idx;
ALTER TABLE campaigns DROP COLUMN ranked_pledged_minor;
ALTER TABLE campaigns DROP COLUMN ranked_backer_count;
CREATE INDEX campaigns_most_backed_idx ON campaigns (status, backer_count DESC, id DESC);
CREATE INDEX campaigns_most_funded_idx
    ON campaigns (status, ((pledged_minor * 10000) / goal_minor) DESC, id DESC);
