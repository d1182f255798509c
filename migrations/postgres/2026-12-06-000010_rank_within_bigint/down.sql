DROP INDEX campaigns_most_funded_idx;
CREATE INDEX campaigns_most_funded_idx
    ON campaigns (status, ((ranked_pledged_minor * 10000) / goal_minor) DESC, id DESC);
