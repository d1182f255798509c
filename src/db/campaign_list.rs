//! Campaign listings with keyset pagination: each page continues strictly after the last row
//! of the previous one in the sort order, so rows inserted meanwhile neither repeat nor shift
//! a page. Each public sort order has an index led by `status` (see the migration).
//!
//! "After (k, id)" is written `k ≤ K AND (k < K OR id < ID)` rather than
//! `k < K OR (k = K AND id < ID)`: the first conjunct is an index bound, so a deep page starts
//! where the previous one ended instead of scanning every row before it.

use chrono::{DateTime, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use std::collections::HashMap;

use super::DbConn;
use super::campaign_search;
use super::campaigns::CampaignRow;
use super::schema::{campaigns, users};
use crate::domain::search::SearchQuery;
use crate::domain::{CampaignId, CampaignStatus, Category, UserId};

/// The same expression as the `campaigns_most_funded_idx` index: percent of goal × 100, from
/// the ranked copy of the total (see [`super::campaigns::RANK_STEP`]), capped at
/// [`RANKED_TOTAL_CAP`] so that the product fits a BIGINT.
const FUNDED_BPS_SQL: &str = "((CASE WHEN campaigns.ranked_pledged_minor > 922337203685477 \
     THEN 922337203685477 ELSE campaigns.ranked_pledged_minor END * 10000) / campaigns.goal_minor)";

/// The largest total the "most funded" key tells apart: `i64::MAX / 10 000`.
pub const RANKED_TOTAL_CAP: i64 = i64::MAX / 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Newest,
    EndingSoon,
    MostFunded,
    MostBacked,
    /// Best match for the search text first; without text, the same as `Newest`.
    Relevance,
}

/// Where the previous page stopped: the last row's sort key and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After {
    pub key: i64,
    pub id: CampaignId,
}

pub struct PublicFilter<'a> {
    pub status: CampaignStatus,
    pub category: Option<Category>,
    pub text: Option<&'a SearchQuery>,
    pub sort: Sort,
    pub after: Option<After>,
    pub limit: i64,
}

/// The value a row is sorted by under `sort`, as stored in a cursor.
pub fn sort_key(row: &CampaignRow, sort: Sort) -> i64 {
    match sort {
        Sort::Newest | Sort::Relevance => row.launched_at.map_or(0, |t| t.and_utc().timestamp_micros()),
        Sort::EndingSoon => row.deadline.map_or(0, |t| t.and_utc().timestamp_micros()),
        Sort::MostFunded => funded_bps(row.ranked_pledged_minor, row.goal_minor),
        Sort::MostBacked => i64::from(row.ranked_backer_count),
    }
}

pub fn funded_bps(pledged_minor: i64, goal_minor: Option<i64>) -> i64 {
    match goal_minor {
        Some(goal) if goal > 0 => pledged_minor.min(RANKED_TOTAL_CAP) * 10_000 / goal,
        _ => 0,
    }
}

fn micros(key: i64) -> NaiveDateTime {
    DateTime::from_timestamp_micros(key)
        .unwrap_or_default()
        .naive_utc()
}

/// A listed campaign, its owner's display name and the key it is sorted by.
pub struct Listed {
    pub row: CampaignRow,
    pub owner: String,
    pub key: i64,
}

/// Public campaigns with their owner's display name; at most `limit` rows.
pub fn public(conn: &mut DbConn, filter: &PublicFilter<'_>) -> QueryResult<Vec<Listed>> {
    if let (Sort::Relevance, Some(text)) = (filter.sort, filter.text) {
        return by_relevance(conn, filter, text);
    }
    let mut query = campaigns::table
        .inner_join(users::table)
        .filter(campaigns::status.eq(filter.status))
        .select((CampaignRow::as_select(), users::display_name))
        .into_boxed();
    if let Some(category) = filter.category {
        query = query.filter(campaigns::category.eq(category));
    }
    if let Some(text) = filter.text {
        let (open, term, close) = campaign_search::matches(conn, text);
        query = query.filter(sql::<Bool>(open).bind::<Text, _>(term).sql(close));
    }
    query = match (filter.sort, filter.after) {
        (Sort::Newest | Sort::Relevance, after) => {
            if let Some(After { key, id }) = after {
                let t = micros(key);
                query = query
                    .filter(campaigns::launched_at.le(t))
                    .filter(campaigns::launched_at.lt(t).or(campaigns::id.lt(id)));
            }
            query.order((campaigns::launched_at.desc(), campaigns::id.desc()))
        }
        (Sort::EndingSoon, after) => {
            if let Some(After { key, id }) = after {
                let t = micros(key);
                query = query
                    .filter(campaigns::deadline.ge(t))
                    .filter(campaigns::deadline.gt(t).or(campaigns::id.gt(id)));
            }
            query.order((campaigns::deadline.asc(), campaigns::id.asc()))
        }
        (Sort::MostBacked, after) => {
            if let Some(After { key, id }) = after {
                let n = i32::try_from(key).unwrap_or(i32::MAX);
                query = query
                    .filter(campaigns::ranked_backer_count.le(n))
                    .filter(campaigns::ranked_backer_count.lt(n).or(campaigns::id.lt(id)));
            }
            query.order((campaigns::ranked_backer_count.desc(), campaigns::id.desc()))
        }
        (Sort::MostFunded, after) => {
            if let Some(After { key, id }) = after {
                query = query
                    .filter(sql::<BigInt>(FUNDED_BPS_SQL).le(key))
                    .filter(sql::<BigInt>(FUNDED_BPS_SQL).lt(key).or(campaigns::id.lt(id)));
            }
            query.order((sql::<BigInt>(FUNDED_BPS_SQL).desc(), campaigns::id.desc()))
        }
    };
    let rows: Vec<(CampaignRow, String)> = query.limit(filter.limit).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(row, owner)| Listed {
            key: sort_key(&row, filter.sort),
            row,
            owner,
        })
        .collect())
}

/// The search's ranked ids, then their rows, in the ranked order.
fn by_relevance(
    conn: &mut DbConn,
    filter: &PublicFilter<'_>,
    text: &SearchQuery,
) -> QueryResult<Vec<Listed>> {
    let ranked = campaign_search::by_relevance(
        conn,
        text,
        filter.status,
        filter.category,
        filter.after,
        filter.limit,
    )?;
    let mut rows: HashMap<CampaignId, (CampaignRow, String)> = campaigns::table
        .inner_join(users::table)
        .filter(campaigns::id.eq_any(ranked.iter().map(|(id, _)| *id)))
        .select((CampaignRow::as_select(), users::display_name))
        .load::<(CampaignRow, String)>(conn)?
        .into_iter()
        .map(|(row, owner)| (row.id, (row, owner)))
        .collect();
    Ok(ranked
        .into_iter()
        .filter_map(|(id, key)| rows.remove(&id).map(|(row, owner)| Listed { row, owner, key }))
        .collect())
}

/// An owner's campaigns, drafts included, newest first.
pub fn owned(
    conn: &mut DbConn,
    owner_id: UserId,
    status: Option<CampaignStatus>,
    after_id: Option<CampaignId>,
    limit: i64,
) -> QueryResult<Vec<CampaignRow>> {
    let mut query = campaigns::table
        .filter(campaigns::owner_id.eq(owner_id))
        .select(CampaignRow::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(campaigns::status.eq(status));
    }
    if let Some(id) = after_id {
        query = query.filter(campaigns::id.lt(id));
    }
    query.order(campaigns::id.desc()).limit(limit).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn funded_basis_points() {
        assert_eq!(funded_bps(5_000, Some(10_000)), 5_000);
        assert_eq!(funded_bps(25_000, Some(10_000)), 25_000);
        assert_eq!(funded_bps(1, None), 0);
        assert_eq!(
            RANKED_TOTAL_CAP, 922_337_203_685_477,
            "the cap written in the SQL"
        );
        assert_eq!(funded_bps(i64::MAX, Some(1)), RANKED_TOTAL_CAP * 10_000);
    }
}
