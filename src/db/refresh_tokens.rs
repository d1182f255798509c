use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::refresh_tokens;
use crate::domain::UserId;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: i64,
    pub user_id: UserId,
    pub family_id: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub rotated_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    pub user_id: UserId,
    pub family_id: &'a str,
    pub token_hash: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: &NewRefreshToken<'_>) -> QueryResult<usize> {
    diesel::insert_into(refresh_tokens::table)
        .values(new)
        .execute(conn)
}

pub fn find_by_hash(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshTokenRow::as_select())
        .get_result(conn)
        .optional()
}

/// Marks a token used, only if nobody else did first; returns whether this call won.
pub fn mark_rotated(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::rotated_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::rotated_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Revokes every token of a family that is not revoked yet.
pub fn revoke_family(conn: &mut DbConn, family_id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

/// Revokes every token of the user outside the family `keep`.
pub fn revoke_user(
    conn: &mut DbConn,
    user: UserId,
    keep: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let mut query = diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::user_id.eq(user))
        .filter(refresh_tokens::revoked_at.is_null())
        .into_boxed();
    if let Some(keep) = keep {
        query = query.filter(refresh_tokens::family_id.ne(keep));
    }
    query.set(refresh_tokens::revoked_at.eq(now)).execute(conn)
}

pub fn delete_for(conn: &mut DbConn, user: UserId) -> QueryResult<usize> {
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::user_id.eq(user))).execute(conn)
}

/// One login's family, for the account's export.
#[derive(Debug, Clone, Queryable)]
pub struct SessionSummary {
    pub family_id: String,
    pub started_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked: Option<NaiveDateTime>,
}

pub fn sessions(conn: &mut DbConn, user: UserId) -> QueryResult<Vec<SessionSummary>> {
    use diesel::dsl::{max, min};
    refresh_tokens::table
        .filter(refresh_tokens::user_id.eq(user))
        .group_by(refresh_tokens::family_id)
        .select((
            refresh_tokens::family_id,
            min(refresh_tokens::created_at),
            max(refresh_tokens::created_at),
            max(refresh_tokens::expires_at),
            max(refresh_tokens::revoked_at),
        ))
        .order_by(min(refresh_tokens::created_at))
        .load(conn)
}
