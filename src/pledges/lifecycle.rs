//! Pledge status changes and the pledge's event log. Every status change goes through this
//! module: it checks the state diagram (`PledgeStatus::can_transition`), applies the change
//! with a conditional UPDATE (only from the statuses the diagram allows, so of two racing
//! writers one wins), appends to `pledge_events`, queues the backer's email and writes the
//! webhook event, all in the caller's transaction.
//!
//! Tier units and the campaign's totals move with a backer's own changes in `service`, before
//! the transition, in the order every pledge locks its rows (tier, then campaign). The bulk
//! changes of settlement give units back here.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::db::campaigns::CampaignRow;
use crate::db::outbox::{self, ToUser};
use crate::db::pledges::{self, NewPledgeEvent, PledgeRow};
use crate::db::webhooks::{self, NewEvent};
use crate::db::{DbConn, addons, tiers};
use crate::domain::addon::{Holding, NOTHING};
use crate::domain::{CampaignId, CoreError, EventType, PledgeId, PledgeStatus, Refusal, Resource, UserId};
use crate::mail::{Template, queue};
use crate::webhooks::events as webhook_events;

/// What a stored pledge holds of add-ons; a list that does not parse breaks an invariant.
pub fn holding(id: PledgeId, stored: &str) -> Result<Holding, CoreError> {
    Holding::from_json(stored).map_err(|e| CoreError::unexpected(format!("pledge {id}: stored add-ons: {e}")))
}

/// The statuses `to` may be reached from, as the diagram says.
fn sources(to: PledgeStatus) -> Vec<PledgeStatus> {
    PledgeStatus::sources(to).collect()
}

/// Refuses a change the diagram does not have, whatever the caller checked before.
fn check(pledge: &PledgeRow, to: PledgeStatus) -> Result<(), Refusal> {
    if pledge.status.can_transition(to) {
        Ok(())
    } else {
        Err(Refusal::Conflict(format!(
            "a {} pledge cannot become {}",
            pledge.status.as_str(),
            to.as_str()
        )))
    }
}

fn event<'a>(
    pledge: &PledgeRow,
    from: Option<PledgeStatus>,
    actor: Option<UserId>,
    reason: &'a str,
    at: NaiveDateTime,
) -> NewPledgeEvent<'a> {
    NewPledgeEvent {
        pledge_id: pledge.id,
        actor_id: actor,
        from_status: from,
        to_status: pledge.status,
        reason,
        amount_minor: pledge.amount_minor,
        tier_id: pledge.tier_id,
        created_at: at,
        addons: None,
    }
}

/// The event of a change that sets the pledge's terms: it keeps the add-ons they hold (a new
/// pledge without any keeps nothing, as the one-statement path writes it; a change keeps even
/// an empty list, which says the add-ons were dropped).
fn terms_event<'a>(
    pledge: &'a PledgeRow,
    from: Option<PledgeStatus>,
    reason: &'a str,
    at: NaiveDateTime,
) -> NewPledgeEvent<'a> {
    let empty = pledge.addons == NOTHING.to_json();
    NewPledgeEvent {
        addons: (from.is_some() || !empty).then_some(pledge.addons.as_str()),
        ..event(pledge, from, Some(pledge.backer_id), reason, at)
    }
}

/// What is written beside a new pledge: its first event, the backer's confirmation and the
/// `pledge.created` event.
pub struct Created<'a> {
    pub event: NewPledgeEvent<'a>,
    pub email: ToUser,
    pub webhook: NewEvent,
}

/// The records of a new pledge, built before anything is written, so that PostgreSQL's pledge in
/// one statement (`super::one_statement`) writes the same ones as [`created`].
pub fn created_records<'a>(
    campaign: &CampaignRow,
    pledge: &'a PledgeRow,
    tier_title: Option<&str>,
    now: DateTime<Utc>,
) -> Created<'a> {
    let at = now.naive_utc();
    Created {
        event: terms_event(pledge, None, "pledged", at),
        email: queue::pledge_confirmed(campaign, pledge, tier_title),
        webhook: webhook_events::pledge_event(EventType::PledgeCreated, campaign, pledge, at),
    }
}

/// A new pledge's first event and the backer's confirmation.
pub fn created(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    tier_title: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    let Created {
        event,
        email,
        webhook,
    } = created_records(campaign, pledge, tier_title, now);
    pledges::append_event(conn, &event)?;
    let confirmation = Template::PledgeConfirmed;
    outbox::queue_for_users(
        conn,
        confirmation.as_str(),
        confirmation.addresses(),
        &[email],
        now.naive_utc(),
    )?;
    webhooks::insert_event(conn, &webhook)?;
    Ok(())
}

/// The event and email of a backer's change of terms (the pledge stays active).
pub fn changed(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    before: &PledgeRow,
    after: &PledgeRow,
    tier_title: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    let event_id = pledges::append_event(
        conn,
        &terms_event(
            after,
            Some(before.status),
            "changed by the backer",
            now.naive_utc(),
        ),
    )?;
    queue::pledge_changed(
        conn,
        campaign,
        after,
        &queue::Change {
            event_id,
            previous_amount_minor: before.amount_minor,
            tier_title,
        },
        now,
    )?;
    webhook_events::pledge(conn, EventType::PledgeUpdated, campaign, after, now)?;
    Ok(())
}

/// The backer cancels: active → canceled.
pub fn cancel(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    now: DateTime<Utc>,
) -> Result<PledgeRow, CoreError> {
    check(pledge, PledgeStatus::Canceled)?;
    let canceled = pledges::cancel(conn, pledge.id, pledge.status, now.naive_utc())?
        .ok_or(Refusal::Stale(Resource::Pledge))?;
    pledges::append_event(
        conn,
        &event(
            &canceled,
            Some(pledge.status),
            Some(pledge.backer_id),
            "canceled by the backer",
            now.naive_utc(),
        ),
    )?;
    queue::pledge_canceled(conn, campaign, &canceled, now)?;
    webhook_events::pledge(conn, EventType::PledgeCanceled, campaign, &canceled, now)?;
    Ok(canceled)
}

/// Every active pledge of a campaign that charges nobody → released, their tier units and
/// add-ons given back together. The backers' email is the campaign's (queued by its transition). Returns how
/// many were released.
pub fn release_all(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    actor: Option<UserId>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<usize, CoreError> {
    let at = now.naive_utc();
    let mut released = 0;
    let mut units: BTreeMap<_, i32> = BTreeMap::new();
    let mut addon_units: BTreeMap<_, i32> = BTreeMap::new();
    for from in sources(PledgeStatus::Released) {
        let rows = pledges::release_all(conn, campaign_id, from, at)?;
        let events: Vec<NewPledgeEvent<'_>> = rows
            .iter()
            .map(|(pledge_id, amount_minor, tier_id, _)| NewPledgeEvent {
                pledge_id: *pledge_id,
                actor_id: actor,
                from_status: Some(from),
                to_status: PledgeStatus::Released,
                reason,
                amount_minor: *amount_minor,
                tier_id: *tier_id,
                created_at: at,
                addons: None,
            })
            .collect();
        pledges::append_events(conn, &events)?;
        for (pledge_id, _, tier, held) in &rows {
            if let Some(tier) = tier {
                *units.entry(*tier).or_default() += 1;
            }
            for item in holding(*pledge_id, held)?.items() {
                *addon_units.entry(item.addon_id).or_default() += item.quantity;
            }
        }
        released += rows.len();
    }
    for (tier, count) in units {
        tiers::release_many(conn, tier, count, at)?;
    }
    for (addon, count) in addon_units {
        addons::release(conn, addon, count, at)?;
    }
    Ok(released)
}

/// A successful charge: (campaign, the pledge as leased, the provider's charge id).
pub struct Collection<'a> {
    pub campaign: &'a CampaignRow,
    pub pledge: &'a PledgeRow,
    pub charge_id: &'a str,
}

/// Charged pledges → collected, with their events and receipts, in a few statements whatever
/// their number. Returns the pledges this call collected, as they are now; another writer got
/// to the rest first.
pub fn collect(
    conn: &mut DbConn,
    charged: &[Collection<'_>],
    now: DateTime<Utc>,
) -> Result<HashMap<PledgeId, PledgeRow>, CoreError> {
    let at = now.naive_utc();
    let charged: Vec<&Collection<'_>> = charged
        .iter()
        .filter(|c| c.pledge.status.can_transition(PledgeStatus::Collected))
        .collect();
    if charged.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<PledgeId> = charged.iter().map(|c| c.pledge.id).collect();
    let collected: HashMap<PledgeId, PledgeRow> =
        pledges::mark_collected(conn, &ids, &sources(PledgeStatus::Collected), at)?
            .into_iter()
            .map(|row| (row.id, row))
            .collect();
    let charged: Vec<&Collection<'_>> = charged
        .into_iter()
        .filter(|c| collected.contains_key(&c.pledge.id))
        .collect();
    let events: Vec<NewPledgeEvent<'_>> = charged
        .iter()
        .map(|c| {
            event(
                &collected[&c.pledge.id],
                Some(c.pledge.status),
                None,
                "charge succeeded",
                at,
            )
        })
        .collect();
    pledges::append_events(conn, &events)?;
    let receipts: Vec<(&CampaignRow, &PledgeRow, &str)> = charged
        .iter()
        .map(|c| (c.campaign, &collected[&c.pledge.id], c.charge_id))
        .collect();
    queue::payment_receipts(conn, &receipts, now)?;
    let changed: Vec<(&CampaignRow, &PledgeRow)> = receipts.iter().map(|(c, p, _)| (*c, *p)).collect();
    webhook_events::pledges(conn, EventType::PledgeCollected, &changed, now)?;
    Ok(collected)
}

/// A declined charge.
pub struct Decline<'a> {
    pub attempt_id: i64,
    pub code: &'a str,
    pub retry_at: NaiveDateTime,
    /// How long after its first failure an errored pledge is dropped.
    pub drop_after: chrono::Duration,
}

/// A declined charge: active → errored, or errored again on a failed retry (the first
/// failure's time is kept). The backer hears how to fix it. `None` if another writer
/// recorded the pledge first.
pub fn decline(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    decline: &Decline<'_>,
    now: DateTime<Utc>,
) -> Result<Option<PledgeRow>, CoreError> {
    let at = now.naive_utc();
    let retried = pledge.status == PledgeStatus::Errored;
    if !retried {
        check(pledge, PledgeStatus::Errored)?;
    }
    let mut from = sources(PledgeStatus::Errored);
    from.push(PledgeStatus::Errored);
    let Some(errored) = pledges::mark_errored(conn, pledge, &from, decline.code, decline.retry_at, at)?
    else {
        return Ok(None);
    };
    let reason = format!("charge failed: {}", decline.code);
    pledges::append_event(conn, &event(&errored, Some(pledge.status), None, &reason, at))?;
    let first_failure = errored.errored_at.unwrap_or(at);
    queue::payment_failed(
        conn,
        campaign,
        &errored,
        &queue::Failure {
            attempt_id: decline.attempt_id,
            code: decline.code,
            retry_at: decline.retry_at,
            drop_at: first_failure + decline.drop_after,
        },
        now,
    )?;
    webhook_events::pledge(conn, EventType::PledgeErrored, campaign, &errored, now)?;
    Ok(Some(errored))
}

/// Errored too long: → dropped, its tier unit and add-ons given back, the backer told. `None` if it was no
/// longer errored.
pub fn drop(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<PledgeRow>, CoreError> {
    let at = now.naive_utc();
    check(pledge, PledgeStatus::Dropped)?;
    let Some(dropped) = pledges::mark_dropped(conn, pledge.id, pledge.status, at)? else {
        return Ok(None);
    };
    if let Some(tier) = dropped.tier_id {
        tiers::release(conn, tier, at)?;
    }
    for item in holding(dropped.id, &dropped.addons)?.items() {
        addons::release(conn, item.addon_id, item.quantity, at)?;
    }
    pledges::append_event(conn, &event(&dropped, Some(pledge.status), None, reason, at))?;
    queue::pledge_dropped(conn, campaign, &dropped, now)?;
    webhook_events::pledge(conn, EventType::PledgeDropped, campaign, &dropped, now)?;
    Ok(Some(dropped))
}

/// collected → refunded, with the backer's email. `None` if it was not collected (refunded by
/// a concurrent request or an earlier webhook).
pub fn refund(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge_id: PledgeId,
    actor: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<Option<PledgeRow>, CoreError> {
    let at = now.naive_utc();
    let mut refunded = None;
    for from in sources(PledgeStatus::Refunded) {
        if let Some(row) = pledges::mark_refunded(conn, pledge_id, from, at)? {
            pledges::append_event(
                conn,
                &event(&row, Some(from), actor, "refunded to the backer", at),
            )?;
            refunded = Some(row);
            break;
        }
    }
    if let Some(row) = &refunded {
        queue::refund_issued(conn, campaign, row, now)?;
        webhook_events::pledge(conn, EventType::PledgeRefunded, campaign, row, now)?;
    }
    Ok(refunded)
}
