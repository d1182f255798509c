-- The "most funded" key multiplied the ranked total by 10 000 before dividing by the goal: a
-- total past 922 337 203 685 477 minor units overflowed BIGINT (an error on PostgreSQL, a
-- float on SQLite). The total is capped there first, so the key always fits; campaigns past
-- the cap rank together, by id (src/db/campaign_list.rs mirrors the expression).
DROP INDEX campaigns_most_funded_idx;
CREATE INDEX campaigns_most_funded_idx ON campaigns (
    status,
    ((CASE WHEN ranked_pledged_minor > 922337203685477 THEN 922337203685477
           ELSE ranked_pledged_minor END * 10000) / goal_minor) DESC,
    id DESC
);
