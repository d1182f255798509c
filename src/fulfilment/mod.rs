//! Getting rewards to backers: the creator marks each collected pledge shipped (with the
//! carrier and tracking number, which the backer is emailed) and then delivered, one at a
//! time or by importing a CSV (`import`); the export (`export`) lists what is to be sent and
//! where, with the survey's answers.

pub mod export;
pub mod import;

use chrono::{DateTime, Utc};
use diesel::Connection;

use crate::db::DbConn;
use crate::db::campaigns::CampaignRow;
use crate::db::fulfilment::{self as records, Fulfilment};
use crate::db::pledges::PledgeRow;
use crate::domain::fulfilment::label;
use crate::domain::{
    Actor, CoreError, Currency, FieldErrors, FulfilmentStatus, PledgeId, PledgeStatus, Refusal, Resource,
};
use crate::mail::queue::fulfilment as mail;
use crate::pledges::service;

/// A change the creator asks for, valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub status: FulfilmentStatus,
    /// `None`: keep what the pledge has.
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

impl Change {
    /// `carrier` and `tracking_number` may be empty (kept as they are). The status's error is
    /// named `status_field`, as the request calls it.
    pub fn parse(
        status: FulfilmentStatus,
        carrier: Option<&str>,
        tracking_number: Option<&str>,
        status_field: &str,
    ) -> Result<Self, Refusal> {
        let mut errors = FieldErrors::default();
        if !matches!(status, FulfilmentStatus::Shipped | FulfilmentStatus::Delivered) {
            errors.push(status_field, "must be shipped or delivered");
        }
        let mut optional = |field: &str, raw: Option<&str>| {
            raw.map(str::trim)
                .filter(|v| !v.is_empty())
                .and_then(|v| errors.check(field, label(v)))
        };
        let carrier = optional("carrier", carrier);
        let tracking_number = optional("tracking_number", tracking_number);
        errors.finish()?;
        Ok(Self {
            status,
            carrier,
            tracking_number,
        })
    }
}

/// What applying a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// The pledge was already so.
    Unchanged,
}

/// Sets one pledge's fulfilment (the campaign's creator only; others who may see the pledge
/// get 403, the rest 404).
pub fn set(
    conn: &mut DbConn,
    pledge_id: PledgeId,
    actor: &Actor,
    change: &Change,
    now: DateTime<Utc>,
) -> Result<(PledgeRow, Currency), CoreError> {
    let (campaign, pledge, _) = service::view(conn, pledge_id, actor)?;
    if campaign.owner_id != actor.id {
        return Err(Refusal::forbidden("only the campaign's creator fulfils its pledges").into());
    }
    let (row, _) = apply(conn, &campaign, &pledge, change, now)?;
    Ok((row, campaign.currency))
}

/// The rule, for one pledge of `campaign`: collected, shipping something, moving forward.
/// Queues `reward_shipped` when it first ships.
pub fn apply(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    change: &Change,
    now: DateTime<Utc>,
) -> Result<(PledgeRow, Applied), CoreError> {
    if pledge.status != PledgeStatus::Collected {
        return Err(Refusal::conflict(format!(
            "only collected pledges are fulfilled; this one is {}",
            pledge.status.as_str()
        ))
        .into());
    }
    if pledge.shipping_country.is_none() {
        return Err(Refusal::conflict("this pledge ships nothing: its fulfilment is not_applicable").into());
    }
    let from = pledge.fulfilment_status;
    let carrier = change.carrier.as_deref().or(pledge.carrier.as_deref());
    let tracking_number = change
        .tracking_number
        .as_deref()
        .or(pledge.tracking_number.as_deref());
    let same = from == change.status
        && carrier == pledge.carrier.as_deref()
        && tracking_number == pledge.tracking_number.as_deref();
    if same {
        return Ok((pledge.clone(), Applied::Unchanged));
    }
    if !from.can_move(change.status) {
        return Err(Refusal::conflict(format!(
            "a {} pledge cannot be marked {}",
            from.as_str(),
            change.status.as_str()
        ))
        .into());
    }
    let to = Fulfilment {
        status: change.status,
        carrier,
        tracking_number,
    };
    let row = conn.transaction(|conn| {
        let row = records::set_fulfilment(conn, pledge.id, from, &to, now.naive_utc())?
            .ok_or(Refusal::Stale(Resource::Pledge))?;
        if from == FulfilmentStatus::Unfulfilled && row.fulfilment_status == FulfilmentStatus::Shipped {
            mail::reward_shipped(conn, campaign, &row, now)?;
        }
        Ok::<_, CoreError>(row)
    })?;
    Ok((row, Applied::Changed))
}
