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

pub mod reconcile;
pub mod verify;

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::db::{DbConn, ledger};
use crate::domain::{CampaignId, CoreError, Currency, PledgeId};

pub const BACKERS: &str = "backers";
pub const PROCESSOR_FEES: &str = "processor_fees";
pub const PLATFORM_REVENUE: &str = "platform_revenue";

pub fn escrow(campaign_id: CampaignId) -> String {
    format!("escrow:campaign:{campaign_id}")
}

pub fn creator_payable(campaign_id: CampaignId) -> String {
    format!("creator_payable:campaign:{campaign_id}")
}

pub struct Posting<'a> {
    pub kind: &'a str,
    pub campaign_id: CampaignId,
    pub pledge_id: Option<PledgeId>,
    pub currency: Currency,
    /// What caused it; a reference already posted is not posted again.
    pub reference: &'a str,
    pub entries: &'a [(&'a str, i64)],
}

/// Posts a balanced transaction unless its reference was posted before; returns whether it
/// posted. Run it in the transaction that makes the change it records.
pub fn post(conn: &mut DbConn, posting: &Posting<'_>, now: DateTime<Utc>) -> Result<bool, CoreError> {
    Ok(post_many(conn, std::slice::from_ref(posting), now)? == 1)
}

/// [`post`] for many postings in two statements (the transactions, then all their entries);
/// returns how many were new.
pub fn post_many(
    conn: &mut DbConn,
    postings: &[Posting<'_>],
    now: DateTime<Utc>,
) -> Result<usize, CoreError> {
    for posting in postings {
        let sum: i64 = posting.entries.iter().map(|(_, amount)| amount).sum();
        if sum != 0 {
            return Err(CoreError::unexpected(format!(
                "unbalanced ledger transaction {}: entries sum to {sum}",
                posting.reference
            )));
        }
    }
    let rows: Vec<ledger::NewTransaction<'_>> = postings
        .iter()
        .map(|p| ledger::NewTransaction {
            kind: p.kind,
            campaign_id: p.campaign_id,
            pledge_id: p.pledge_id,
            currency: p.currency,
            reference: p.reference,
            created_at: now.naive_utc(),
        })
        .collect();
    let inserted = ledger::insert_new_transactions(conn, &rows)?;
    let by_reference: HashMap<&str, &Posting<'_>> = postings.iter().map(|p| (p.reference, p)).collect();
    let entries: Vec<ledger::NewEntry<'_>> = inserted
        .iter()
        .flat_map(|(id, reference)| {
            by_reference[reference.as_str()]
                .entries
                .iter()
                .filter(|(_, amount)| *amount != 0)
                .map(|(account, amount)| ledger::NewEntry {
                    transaction_id: *id,
                    account,
                    amount_minor: *amount,
                })
        })
        .collect();
    ledger::insert_entries(conn, &entries)?;
    Ok(inserted.len())
}
