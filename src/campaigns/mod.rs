//! Campaign rules that need the database: who may see or change a campaign, and the
//! lifecycle transitions with their event log.

pub mod access;
pub mod lifecycle;
