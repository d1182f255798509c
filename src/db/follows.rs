//! Who follows which campaign.

use chrono::NaiveDateTime;
use diesel::dsl::exists;
use diesel::prelude::*;

use super::DbConn;
use super::campaigns::CampaignRow;
use super::schema::{campaigns, follows, users};
use crate::domain::{CampaignId, CampaignStatus, UserId};

/// Follows; false if the user followed it already.
pub fn follow(
    conn: &mut DbConn,
    campaign: CampaignId,
    user: UserId,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let values = (
        follows::campaign_id.eq(campaign),
        follows::user_id.eq(user),
        follows::created_at.eq(now),
    );
    super::on_backend!(conn, |c| diesel::insert_into(follows::table)
        .values(values)
        .on_conflict_do_nothing()
        .execute(c))
    .map(|n| n == 1)
}

pub fn unfollow(conn: &mut DbConn, campaign: CampaignId, user: UserId) -> QueryResult<bool> {
    diesel::delete(follows::table.find((campaign, user)))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn count(conn: &mut DbConn, campaign: CampaignId) -> QueryResult<i64> {
    follows::table
        .filter(follows::campaign_id.eq(campaign))
        .count()
        .get_result(conn)
}

pub fn is_following(conn: &mut DbConn, campaign: CampaignId, user: UserId) -> QueryResult<bool> {
    diesel::select(exists(follows::table.find((campaign, user)))).get_result(conn)
}

/// The campaigns a user follows, with their creator's name, whose page they can still see (launched, or prelaunch drafts),
/// newest campaign first, after the cursor's campaign.
pub fn followed_by(
    conn: &mut DbConn,
    user: UserId,
    before: Option<CampaignId>,
    limit: i64,
) -> QueryResult<Vec<(CampaignRow, String, NaiveDateTime)>> {
    let mut query = follows::table
        .inner_join(campaigns::table.inner_join(users::table))
        .filter(follows::user_id.eq(user))
        .filter(
            campaigns::status
                .ne(CampaignStatus::Draft)
                .or(campaigns::prelaunch.eq(true)),
        )
        .select((CampaignRow::as_select(), users::display_name, follows::created_at))
        .into_boxed();
    if let Some(id) = before {
        query = query.filter(follows::campaign_id.lt(id));
    }
    query.order(follows::campaign_id.desc()).limit(limit).load(conn)
}

/// Everything the user follows (the account's export).
pub fn all_of(conn: &mut DbConn, user: UserId) -> QueryResult<Vec<(CampaignId, NaiveDateTime)>> {
    follows::table
        .filter(follows::user_id.eq(user))
        .order(follows::campaign_id)
        .select((follows::campaign_id, follows::created_at))
        .load(conn)
}

pub fn forget_user(conn: &mut DbConn, user: UserId) -> QueryResult<usize> {
    diesel::delete(follows::table.filter(follows::user_id.eq(user))).execute(conn)
}
