//! Aggregates over a campaign's pledges. Written as plain SQL that both backends run alike
//! (SUM cast to BIGINT, since PostgreSQL's SUM(bigint) is numeric); only integers from the
//! caller are interpolated.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::DbConn;

/// Pledges that count as backing: active, collected or errored.
const COUNTED: &str = "status IN ('active', 'collected', 'errored')";

#[derive(Debug, QueryableByName)]
pub struct TierTotal {
    #[diesel(sql_type = Nullable<BigInt>)]
    pub tier_id: Option<i64>,
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

pub fn by_tier(conn: &mut DbConn, campaign_id: i64) -> QueryResult<Vec<TierTotal>> {
    diesel::sql_query(format!(
        "SELECT tier_id, COUNT(*) AS pledges, CAST(SUM(amount_minor) AS BIGINT) AS amount_minor \
         FROM pledges WHERE campaign_id = {campaign_id} AND {COUNTED} GROUP BY tier_id"
    ))
    .load(conn)
}

/// Counted pledges by the UTC day they were made.
pub fn by_day(conn: &mut DbConn, campaign_id: i64) -> QueryResult<Vec<DayTotal>> {
    diesel::sql_query(format!(
        "SELECT substr(CAST(created_at AS TEXT), 1, 10) AS day, COUNT(*) AS pledges, \
         CAST(SUM(amount_minor) AS BIGINT) AS amount_minor \
         FROM pledges WHERE campaign_id = {campaign_id} AND {COUNTED} GROUP BY 1 ORDER BY 1"
    ))
    .load(conn)
}
