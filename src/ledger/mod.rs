//! The double-entry ledger. Every money movement is a transaction of entries that sum to zero
//! (money flows from negative entries to positive ones); nothing is ever updated or deleted.
//!
//! Accounts (amounts in the transaction's currency):
//! - `backers`: the outside world the money comes from (and goes back to on refunds);
//! - `escrow:campaign:{id}`: money collected for a campaign and not yet assigned;
//! - `processor_fees`: what the payment provider kept;
//! - `platform_revenue`: the platform fee (`PLATFORM_FEE_BPS` of the collected total);
//! - `creator_payable:campaign:{id}`: what the creator is owed.
//!
//! A completed campaign's escrow is zero: collected = processing fees + platform fee + payout.

pub mod verify;

use chrono::{DateTime, Utc};

use crate::db::{DbConn, ledger};
use crate::error::ApiError;

pub const BACKERS: &str = "backers";
pub const PROCESSOR_FEES: &str = "processor_fees";
pub const PLATFORM_REVENUE: &str = "platform_revenue";

pub fn escrow(campaign_id: i64) -> String {
    format!("escrow:campaign:{campaign_id}")
}

pub fn creator_payable(campaign_id: i64) -> String {
    format!("creator_payable:campaign:{campaign_id}")
}

pub struct Posting<'a> {
    pub kind: &'a str,
    pub campaign_id: i64,
    pub pledge_id: Option<i64>,
    pub currency: &'a str,
    /// What caused it; a reference already posted is not posted again.
    pub reference: &'a str,
    pub entries: &'a [(&'a str, i64)],
}

/// Posts a balanced transaction unless its reference was posted before; returns whether it
/// posted. Run it in the transaction that makes the change it records.
pub fn post(conn: &mut DbConn, posting: &Posting<'_>, now: DateTime<Utc>) -> Result<bool, ApiError> {
    let sum: i64 = posting.entries.iter().map(|(_, amount)| amount).sum();
    if sum != 0 {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "unbalanced ledger transaction {}: entries sum to {sum}",
            posting.reference
        )));
    }
    if ledger::reference_exists(conn, posting.reference)? {
        return Ok(false);
    }
    let id = ledger::insert_transaction(
        conn,
        posting.kind,
        posting.campaign_id,
        posting.pledge_id,
        posting.currency,
        posting.reference,
        now.naive_utc(),
    )?;
    for (account, amount) in posting.entries.iter().filter(|(_, amount)| *amount != 0) {
        ledger::insert_entry(conn, id, account, *amount)?;
    }
    Ok(true)
}
