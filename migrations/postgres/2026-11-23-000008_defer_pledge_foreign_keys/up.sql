-- A pledge's references to its campaign and tier are checked at commit. A new pledge inserts
-- its rows first and updates the campaign's totals and the tier's claim last, so that the rows
-- every pledge of a campaign locks are held for the shortest time; checked at the insert, the
-- references would lock those rows FOR KEY SHARE before that, and concurrent pledges would
-- share the locks in multixacts on rows they then update. At commit the transaction already
-- holds the rows' update locks, and the checks cost nothing. SQLite has no row locks: its
-- references stay immediate.
ALTER TABLE pledges ALTER CONSTRAINT pledges_campaign_id_fkey DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE pledges ALTER CONSTRAINT pledges_tier_id_fkey DEFERRABLE INITIALLY DEFERRED;
