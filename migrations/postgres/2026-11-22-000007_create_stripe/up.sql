-- PAYMENT_PROVIDER=stripe: one Stripe Customer per backer, created at their first pledge.
CREATE TABLE stripe_customers (
    user_id     BIGINT PRIMARY KEY REFERENCES users (id),
    customer_id TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- Webhook events already applied, by Stripe's event id: a redelivered event changes nothing.
CREATE TABLE stripe_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL
);
