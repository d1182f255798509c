//! Pledges: the rules a pledge must satisfy (`terms`), the backer's transactions that make,
//! change and cancel one (`service`), the tier and add-on units they take and give back
//! (`claims`), every status change and the event log (`lifecycle`),
//! refunds (`refund`), saving payment methods (`payment`), and the late pledges a successful
//! campaign may take, charged at once (`late`). Each backer transaction claims
//! or releases tier units, moves the campaign's running totals and appends to `pledge_events`
//! together; the campaign's totals are moved by one conditional UPDATE that also re-checks
//! "live, before the deadline" and the last-24-hours rule, so concurrent requests cannot slip
//! past them. On PostgreSQL a new pledge is usually made in two round trips instead
//! (`one_statement`), with the same checks and the same writes.

mod claims;
pub mod late;
pub mod lifecycle;
pub mod one_statement;
pub mod payment;
pub mod refund;
pub mod service;
pub mod terms;
