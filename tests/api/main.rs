#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Black-box tests: each test starts the real server on a random port against a fresh
//! database and talks HTTP to it. `TEST_DATABASE_URL=postgres://...` runs the same suite on
//! PostgreSQL (each test creates and drops its own database); otherwise SQLite temp files.

mod accounts;
mod addons;
mod auth;
mod browser_sessions;
mod caching;
mod campaign_list;
mod campaigns;
mod cli;
mod community;
mod costs;
mod faults;
mod flexible_funding;
mod followers;
mod fulfilment;
mod group_commit;
mod helpers;
mod holes;
mod http_basics;
mod idempotency;
mod late_pledges;
mod mail;
mod media;
mod media_s3;
mod model;
mod openapi;
mod pledge_statement;
mod pledges;
mod reconciliation;
mod referrals;
mod route_matrix;
mod sandbox;
mod secret_rewards;
mod settlement;
mod stripe;
mod surveys;
mod tiers;
mod updates_and_stats;
mod webhooks;
