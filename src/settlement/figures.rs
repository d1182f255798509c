//! A closed campaign's settlement figures, from its pledges and the ledger.

use crate::campaigns::access;
use crate::db::campaigns::{self, CampaignRow};
use crate::db::settlement::{self, LedgerKind, StatusTotal};
use crate::db::{DbConn, ledger};
use crate::domain::{Actor, CampaignId, CoreError, PledgeStatus, Refusal};

/// How many pledges, and their total in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub pledges: i64,
    pub amount_minor: i64,
}

/// `collected = processing_fees + platform_fee + payout + in_escrow`, and `in_escrow` is zero
/// once the campaign is successful. Refunds come out of the payout: what is left of it, and of
/// the late pledges' payouts, is `creator_balance_minor`. Late pledges have figures of their own.
#[derive(Debug, Clone)]
pub struct Figures {
    pub campaign: CampaignRow,
    pub pledged_at_deadline_minor: i64,
    pub backers_at_deadline: i32,
    /// Refunded pledges were collected first.
    pub collected: Tally,
    /// Still being charged or retried.
    pub in_flight: Tally,
    pub dropped: Tally,
    pub released: Tally,
    pub refunded: Tally,
    pub processing_fees_minor: i64,
    pub platform_fee_minor: i64,
    pub payout_minor: i64,
    pub in_escrow_minor: i64,
    /// The creator's account now: the payout and the late pledges' payouts, less the refunds
    /// made since. Negative when refunds took back more than that: the creator owes the
    /// difference.
    pub creator_balance_minor: i64,
    pub late: LateFigures,
}

/// The late pledges' own figures: `collected = processing_fees + platform_fee + payout`, each
/// late pledge's share posted when it is charged.
#[derive(Debug, Clone, Default)]
pub struct LateFigures {
    /// Refunded pledges were collected first.
    pub collected: Tally,
    /// Being charged, or waiting for the backer to confirm.
    pub in_flight: Tally,
    /// Declined.
    pub dropped: Tally,
    pub refunded: Tally,
    pub processing_fees_minor: i64,
    pub platform_fee_minor: i64,
    pub payout_minor: i64,
}

/// The figures of a campaign its creator or an admin asks for, once settlement has closed it
/// (a conflict before).
pub fn of(conn: &mut DbConn, id: CampaignId, actor: &Actor) -> Result<Figures, CoreError> {
    let campaign = access::owned_or_admin(campaigns::find(conn, id)?, actor)?;
    let (Some(pledged_at_deadline_minor), Some(backers_at_deadline)) =
        (campaign.final_pledged_minor, campaign.final_backer_count)
    else {
        return Err(Refusal::conflict("the campaign has not been settled yet").into());
    };
    let by_status = settlement::totals_by_status(conn, campaign.id, false)?;
    let late_by_status = settlement::totals_by_status(conn, campaign.id, true)?;
    let in_flight: Vec<PledgeStatus> = PledgeStatus::ALL.into_iter().filter(|s| s.in_flight()).collect();
    let collected = [PledgeStatus::Collected, PledgeStatus::Refunded];
    let late = LateFigures {
        collected: tally(&late_by_status, &collected),
        in_flight: tally(&late_by_status, &in_flight),
        dropped: tally(&late_by_status, &[PledgeStatus::Dropped]),
        refunded: tally(&late_by_status, &[PledgeStatus::Refunded]),
        processing_fees_minor: settlement::fees_total(conn, campaign.id, true)?,
        platform_fee_minor: settlement::ledger_kind_total(conn, campaign.id, LedgerKind::PlatformFee, true)?,
        payout_minor: settlement::ledger_kind_total(conn, campaign.id, LedgerKind::Payout, true)?,
    };
    Ok(Figures {
        pledged_at_deadline_minor,
        backers_at_deadline,
        collected: tally(&by_status, &collected),
        in_flight: tally(&by_status, &in_flight),
        dropped: tally(&by_status, &[PledgeStatus::Dropped]),
        released: tally(&by_status, &[PledgeStatus::Released]),
        refunded: tally(&by_status, &[PledgeStatus::Refunded]),
        processing_fees_minor: settlement::fees_total(conn, campaign.id, false)?,
        platform_fee_minor: settlement::ledger_kind_total(conn, campaign.id, LedgerKind::PlatformFee, false)?,
        payout_minor: settlement::ledger_kind_total(conn, campaign.id, LedgerKind::Payout, false)?,
        in_escrow_minor: ledger::escrow_balance(conn, campaign.id)?,
        creator_balance_minor: ledger::creator_balance(conn, campaign.id)?,
        late,
        campaign,
    })
}

/// The pledges among `totals` in one of `statuses`: how many, and their sum.
fn tally(totals: &[StatusTotal], statuses: &[PledgeStatus]) -> Tally {
    totals
        .iter()
        .filter(|t| statuses.contains(&t.status))
        .fold(Tally::default(), |sum, t: &StatusTotal| Tally {
            pledges: sum.pledges + t.pledges,
            amount_minor: sum.amount_minor + t.amount_minor,
        })
}
