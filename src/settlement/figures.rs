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
/// once the campaign is successful. Refunds come out of the payout: what is left of it is
/// `creator_balance_minor`.
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
    /// The creator's account now: the payout less the refunds made since. Negative when
    /// refunds took back more than the payout left: the creator owes the difference.
    pub creator_balance_minor: i64,
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
    let by_status = settlement::totals_by_status(conn, campaign.id)?;
    let tally = |statuses: &[PledgeStatus]| {
        by_status.iter().filter(|t| statuses.contains(&t.status)).fold(
            Tally::default(),
            |sum, t: &StatusTotal| Tally {
                pledges: sum.pledges + t.pledges,
                amount_minor: sum.amount_minor + t.amount_minor,
            },
        )
    };
    let in_flight: Vec<PledgeStatus> = PledgeStatus::ALL.into_iter().filter(|s| s.in_flight()).collect();
    Ok(Figures {
        pledged_at_deadline_minor,
        backers_at_deadline,
        collected: tally(&[PledgeStatus::Collected, PledgeStatus::Refunded]),
        in_flight: tally(&in_flight),
        dropped: tally(&[PledgeStatus::Dropped]),
        released: tally(&[PledgeStatus::Released]),
        refunded: tally(&[PledgeStatus::Refunded]),
        processing_fees_minor: settlement::fees_total(conn, campaign.id)?,
        platform_fee_minor: settlement::ledger_kind_total(conn, campaign.id, LedgerKind::PlatformFee)?,
        payout_minor: settlement::ledger_kind_total(conn, campaign.id, LedgerKind::Payout)?,
        in_escrow_minor: ledger::escrow_balance(conn, campaign.id)?,
        creator_balance_minor: ledger::creator_balance(conn, campaign.id)?,
        campaign,
    })
}
