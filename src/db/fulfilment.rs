//! The creator's fulfilment view of a campaign's pledges, and the fulfilment they set.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::pledges::PledgeRow;
use super::schema::{pledges, reward_tiers, users};
use crate::domain::{CampaignId, FulfilmentStatus, PledgeId, PledgeStatus};

/// One row of the creator's fulfilment view.
#[derive(Debug, Clone, Queryable)]
pub struct FulfilmentRow {
    pub pledge: PledgeRow,
    pub backer_name: String,
    pub backer_email: String,
    pub tier_title: Option<String>,
}

/// A campaign's pledges in id order (those in `status` only, when given), with backer and
/// tier, for its creator.
pub fn for_campaign(
    conn: &mut DbConn,
    campaign_id: CampaignId,
    status: Option<PledgeStatus>,
    after_id: Option<PledgeId>,
    limit: i64,
) -> QueryResult<Vec<FulfilmentRow>> {
    let mut query = pledges::table
        .inner_join(users::table)
        .left_join(reward_tiers::table)
        .filter(pledges::campaign_id.eq(campaign_id))
        .select((
            PledgeRow::as_select(),
            users::display_name,
            users::email,
            reward_tiers::title.nullable(),
        ))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(pledges::status.eq(status));
    }
    if let Some(id) = after_id {
        query = query.filter(pledges::id.gt(id));
    }
    query.order(pledges::id.asc()).limit(limit).load(conn)
}

/// A collected pledge's fulfilment, as the creator sets it.
pub struct Fulfilment<'a> {
    pub status: FulfilmentStatus,
    pub carrier: Option<&'a str>,
    pub tracking_number: Option<&'a str>,
}

/// Sets the pledge's fulfilment if it is still `from` (and collected); the row as it is now.
/// The first shipment's time is kept when a shipment is corrected.
pub fn set_fulfilment(
    conn: &mut DbConn,
    pledge_id: PledgeId,
    from: FulfilmentStatus,
    to: &Fulfilment<'_>,
    now: NaiveDateTime,
) -> QueryResult<Option<PledgeRow>> {
    let target = pledges::table
        .find(pledge_id)
        .filter(pledges::status.eq(PledgeStatus::Collected))
        .filter(pledges::fulfilment_status.eq(from));
    let common = (
        pledges::fulfilment_status.eq(to.status),
        pledges::carrier.eq(to.carrier),
        pledges::tracking_number.eq(to.tracking_number),
        pledges::updated_at.eq(now),
    );
    let query = diesel::update(target);
    match (from, to.status) {
        (_, FulfilmentStatus::Delivered) => query
            .set((common, pledges::delivered_at.eq(now)))
            .returning(pledges::all_columns)
            .get_result(conn)
            .optional(),
        (FulfilmentStatus::Unfulfilled, FulfilmentStatus::Shipped) => query
            .set((common, pledges::shipped_at.eq(now)))
            .returning(pledges::all_columns)
            .get_result(conn)
            .optional(),
        _ => query
            .set(common)
            .returning(pledges::all_columns)
            .get_result(conn)
            .optional(),
    }
}

/// A campaign's collected pledges that ship, by fulfilment status, and the number that ship
/// nothing.
pub fn fulfilment_counts(
    conn: &mut DbConn,
    campaign_id: CampaignId,
) -> QueryResult<(Vec<(FulfilmentStatus, i64)>, i64)> {
    let collected = || {
        pledges::table
            .filter(pledges::campaign_id.eq(campaign_id))
            .filter(pledges::status.eq(PledgeStatus::Collected))
    };
    let shipping = collected()
        .filter(pledges::shipping_country.is_not_null())
        .group_by(pledges::fulfilment_status)
        .select((pledges::fulfilment_status, diesel::dsl::count_star()))
        .load(conn)?;
    let digital = collected()
        .filter(pledges::shipping_country.is_null())
        .count()
        .get_result(conn)?;
    Ok((shipping, digital))
}
