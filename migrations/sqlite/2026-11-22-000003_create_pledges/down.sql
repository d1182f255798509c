DROP TABLE sandbox_refunds;
DROP TABLE sandbox_charges;
DROP TABLE idempotency_keys;
DROP TABLE pledge_events;
DROP TABLE pledges;
