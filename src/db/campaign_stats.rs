//! Aggregates over a campaign's pledges. Written as plain SQL that both backends run alike
//! (SUM cast to BIGINT, since PostgreSQL's SUM(bigint) is numeric); only integers from the
//! caller are interpolated.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::DbConn;
use crate::domain::pledge::sql_list;
use crate::domain::{CampaignId, PledgeStatus, TierId};

/// The pledges that count: those backing the campaign (active, collected or errored).
fn counted() -> String {
    format!("status IN ({})", sql_list(PledgeStatus::backing()))
}

#[derive(Debug, QueryableByName)]
pub struct TierTotal {
    #[diesel(sql_type = Nullable<BigInt>)]
    pub tier_id: Option<TierId>,
    #[diesel(sql_type = BigInt)]
    pub pledges: i64,
    #[diesel(sql_type = BigInt)]
    pub amount_minor: i64,
}

#[derive(Debug, QueryableByName)]
pub struct DayTotal {
    #[diesel(sql_type = Text)]
    pub day: String,
    #[diesel(sql_type = BigInt)]
    pub pledges: i64,
    #[diesel(sql_type = BigInt)]
    pub amount_minor: i64,
}

pub fn by_tier(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<Vec<TierTotal>> {
    diesel::sql_query(format!(
        "SELECT tier_id, COUNT(*) AS pledges, CAST(SUM(amount_minor) AS BIGINT) AS amount_minor \
         FROM pledges WHERE campaign_id = {campaign_id} AND {} GROUP BY tier_id",
        counted()
    ))
    .load(conn)
}

/// Counted pledges by the UTC day they were made.
pub fn by_day(conn: &mut DbConn, campaign_id: CampaignId) -> QueryResult<Vec<DayTotal>> {
    diesel::sql_query(format!(
        "SELECT substr(CAST(created_at AS TEXT), 1, 10) AS day, COUNT(*) AS pledges, \
         CAST(SUM(amount_minor) AS BIGINT) AS amount_minor \
         FROM pledges WHERE campaign_id = {campaign_id} AND {} GROUP BY 1 ORDER BY 1",
        counted()
    ))
    .load(conn)
}
