DROP TABLE stripe_events;
DROP TABLE stripe_customers;
