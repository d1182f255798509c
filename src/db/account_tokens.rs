//! Tokens sent by email (see `domain::TokenPurpose`), stored only as their SHA-256.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::account_tokens;
use crate::domain::{TokenPurpose, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_tokens)]
pub struct AccountTokenRow {
    pub id: i64,
    pub user_id: UserId,
    pub purpose: TokenPurpose,
    pub token_hash: String,
    pub new_email: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = account_tokens)]
pub struct NewAccountToken<'a> {
    pub user_id: UserId,
    pub purpose: TokenPurpose,
    pub token_hash: &'a str,
    pub new_email: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: &NewAccountToken<'_>) -> QueryResult<i64> {
    diesel::insert_into(account_tokens::table)
        .values(new)
        .returning(account_tokens::id)
        .get_result(conn)
}

pub fn find_by_hash(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<AccountTokenRow>> {
    account_tokens::table
        .filter(account_tokens::token_hash.eq(token_hash))
        .select(AccountTokenRow::as_select())
        .get_result(conn)
        .optional()
}

/// When the user's newest token for `purpose` was issued.
pub fn latest(conn: &mut DbConn, user: UserId, purpose: TokenPurpose) -> QueryResult<Option<NaiveDateTime>> {
    account_tokens::table
        .filter(account_tokens::user_id.eq(user))
        .filter(account_tokens::purpose.eq(purpose))
        .select(diesel::dsl::max(account_tokens::created_at))
        .get_result(conn)
}

/// Uses up every unused token of the user for `purpose`: a newer link replaces older ones.
pub fn retire(
    conn: &mut DbConn,
    user: UserId,
    purpose: TokenPurpose,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        account_tokens::table
            .filter(account_tokens::user_id.eq(user))
            .filter(account_tokens::purpose.eq(purpose))
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(now))
    .execute(conn)
}

/// Marks a token used, only if it still was not; returns whether this call won.
pub fn mark_used(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        account_tokens::table
            .find(id)
            .filter(account_tokens::used_at.is_null()),
    )
    .set(account_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn delete_for(conn: &mut DbConn, user: UserId) -> QueryResult<usize> {
    diesel::delete(account_tokens::table.filter(account_tokens::user_id.eq(user))).execute(conn)
}
