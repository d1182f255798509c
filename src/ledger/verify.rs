//! The audit: `crowdfund audit` and `GET /api/v1/admin/ledger/verify`.

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{DbConn, ledger, settlement};
use crate::domain::CoreError;

/// What the audit found; `ok` is true when every list is empty.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditReport {
    pub ok: bool,
    pub transactions_checked: i64,
    /// Transactions whose entries do not sum to zero.
    pub unbalanced_transactions: Vec<String>,
    /// Campaigns whose collected total in the ledger differs from their collected pledges.
    pub collected_mismatches: Vec<String>,
    /// Completed campaigns whose escrow is not zero.
    pub escrow_not_empty: Vec<String>,
    /// Campaigns whose creator account is below zero: refunds took back more than the payout
    /// left, and the creator owes the platform the difference.
    pub negative_creator_balances: Vec<String>,
}

pub fn run(conn: &mut DbConn) -> Result<AuditReport, CoreError> {
    let unbalanced = ledger::unbalanced(conn)?
        .into_iter()
        .map(|u| format!("transaction {} sums to {}", u.transaction_id, u.total))
        .collect::<Vec<_>>();
    let mut collected_mismatches = Vec::new();
    let mut escrow_not_empty = Vec::new();
    let mut negative_creator_balances = Vec::new();
    for campaign in settlement::campaigns_with_money(conn)? {
        let in_ledger = ledger::collected_in_ledger(conn, campaign.id)?;
        let from_pledges = settlement::collected_pledges_total(conn, campaign.id)?;
        if in_ledger != from_pledges {
            collected_mismatches.push(format!(
                "campaign {}: ledger {in_ledger}, collected pledges {from_pledges}",
                campaign.id
            ));
        }
        if campaign.completed {
            let escrow = ledger::escrow_balance(conn, campaign.id)?;
            if escrow != 0 {
                escrow_not_empty.push(format!("campaign {}: escrow {escrow}", campaign.id));
            }
        }
        let creator = ledger::creator_balance(conn, campaign.id)?;
        if creator < 0 {
            negative_creator_balances.push(format!("campaign {}: creator balance {creator}", campaign.id));
        }
    }
    let transactions_checked = settlement::ledger_transaction_count(conn)?;
    Ok(AuditReport {
        ok: unbalanced.is_empty()
            && collected_mismatches.is_empty()
            && escrow_not_empty.is_empty()
            && negative_creator_balances.is_empty(),
        transactions_checked,
        unbalanced_transactions: unbalanced,
        collected_mismatches,
        escrow_not_empty,
        negative_creator_balances,
    })
}
