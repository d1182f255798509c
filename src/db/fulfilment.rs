//! The creator's fulfilment view of a campaign's pledges.

use diesel::prelude::*;

use super::DbConn;
use super::pledges::PledgeRow;
use super::schema::{pledges, reward_tiers, users};
use crate::domain::{CampaignId, PledgeId};

/// One row of the creator's fulfilment view.
#[derive(Debug, Clone, Queryable)]
pub struct FulfilmentRow {
    pub pledge: PledgeRow,
    pub backer_name: String,
    pub backer_email: String,
    pub tier_title: Option<String>,
}

/// A campaign's pledges in id order, with backer and tier, for its creator.
pub fn for_campaign(
    conn: &mut DbConn,
    campaign_id: CampaignId,
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
    if let Some(id) = after_id {
        query = query.filter(pledges::id.gt(id));
    }
    query.order(pledges::id.asc()).limit(limit).load(conn)
}
