//! Full-text search over campaigns' titles and blurbs: SQLite's FTS5 table `campaigns_fts`
//! and PostgreSQL's `campaign_search` (a `tsvector` under a GIN index, with copies of the
//! status and category to filter by), both kept by triggers that fire only when those columns
//! change, so pledges never touch them. Both fold case
//! and keep accents; the title weighs more than the blurb.
//!
//! Relevance is the engine's own score (FTS5's `bm25`, PostgreSQL's `ts_rank`) scaled to an
//! integer, so that a page can continue after the last row's score and id like the other
//! orders do.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::DbConn;
use super::campaign_list::After;
use crate::domain::search::SearchQuery;
use crate::domain::{CampaignId, CampaignStatus, Category};

/// Scores are multiplied by this before they are rounded into a cursor's integer key.
const SCORE_SCALE: f64 = 1_000_000.0;

/// FTS5 query syntax: each word a quoted string (so no word is read as an operator), all of
/// them required, the last as a prefix.
fn fts5_match(query: &SearchQuery) -> String {
    let mut out = String::new();
    for word in query.exact() {
        out.push_str(&format!("\"{word}\" "));
    }
    out.push_str(&format!("\"{}\"*", query.prefix()));
    out
}

/// `tsquery` syntax: every word required, the last as a prefix.
fn tsquery(query: &SearchQuery) -> String {
    let mut out = String::new();
    for word in query.exact() {
        out.push_str(&format!("'{word}' & "));
    }
    out.push_str(&format!("'{}':*", query.prefix()));
    out
}

/// `campaigns.id IN (the matching campaigns)`, for the listing's other sort orders: the SQL
/// before the bound search term, the term, and the SQL after it.
pub fn matches(conn: &DbConn, query: &SearchQuery) -> (&'static str, String, &'static str) {
    match conn {
        DbConn::Sqlite(_) => (
            "campaigns.id IN (SELECT rowid FROM campaigns_fts WHERE campaigns_fts MATCH ",
            term(conn, query),
            ")",
        ),
        DbConn::Pg(_) => (
            "campaigns.id IN (SELECT campaign_id FROM campaign_search WHERE document @@ to_tsquery('simple', ",
            term(conn, query),
            "))",
        ),
    }
}

#[derive(QueryableByName)]
struct Ranked {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    rank_key: i64,
}

/// The relevance query's SQL for this backend, with `?` for the search term, the status, the
/// category (with `category`), the cursor's key, key and id (with `after`), and the limit.
pub fn relevance_sql(conn: &DbConn, category: bool, after: bool) -> String {
    let matched = match conn {
        DbConn::Sqlite(_) => format!(
            "SELECT c.id AS id, CAST(-bm25(campaigns_fts, 4.0, 1.0) * {SCORE_SCALE} AS BIGINT) AS rank_key \
             FROM campaigns_fts JOIN campaigns c ON c.id = campaigns_fts.rowid \
             WHERE campaigns_fts MATCH ?"
        ),
        DbConn::Pg(_) => format!(
            "SELECT c.campaign_id AS id, CAST(ts_rank(c.document, q, 1) * {SCORE_SCALE} AS BIGINT) AS rank_key \
             FROM campaign_search c, to_tsquery('simple', ?) AS q WHERE c.document @@ q"
        ),
    };
    let category_filter = if category { " AND c.category = ?" } else { "" };
    let after_filter = if after {
        " WHERE rank_key <= ? AND (rank_key < ? OR id < ?)"
    } else {
        ""
    };
    super::for_backend(
        conn,
        &format!(
            "SELECT id, rank_key FROM ({matched} AND c.status = ?{category_filter}) AS ranked{after_filter} \
             ORDER BY rank_key DESC, id DESC LIMIT ?"
        ),
    )
}

/// The search term as the backend's engine reads it.
pub fn term(conn: &DbConn, query: &SearchQuery) -> String {
    match conn {
        DbConn::Sqlite(_) => fts5_match(query),
        DbConn::Pg(_) => tsquery(query),
    }
}

/// The best-matching campaigns with `status` (and `category`), most relevant first, ties by
/// newer id; after `after` when given; at most `limit`. Each with its integer score.
pub fn by_relevance(
    conn: &mut DbConn,
    query: &SearchQuery,
    status: CampaignStatus,
    category: Option<Category>,
    after: Option<After>,
    limit: i64,
) -> QueryResult<Vec<(CampaignId, i64)>> {
    let sql = relevance_sql(conn, category.is_some(), after.is_some());
    let mut statement = diesel::sql_query(sql)
        .into_boxed()
        .bind::<Text, _>(term(conn, query))
        .bind::<Text, _>(status);
    if let Some(category) = category {
        statement = statement.bind::<Text, _>(category);
    }
    if let Some(After { key, id }) = after {
        statement = statement
            .bind::<BigInt, _>(key)
            .bind::<BigInt, _>(key)
            .bind::<BigInt, _>(id);
    }
    let rows: Vec<Ranked> = statement.bind::<BigInt, _>(limit).load(conn)?;
    Ok(rows.into_iter().map(|r| (CampaignId(r.id), r.rank_key)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_quote_every_word_and_prefix_the_last() {
        let q = SearchQuery::parse("solar OR lamp*").unwrap();
        assert_eq!(fts5_match(&q), "\"solar\" \"OR\" \"lamp\"*");
        assert_eq!(tsquery(&q), "'solar' & 'OR' & 'lamp':*");
    }
}
