use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::prepared::PreparedDsl;
use super::schema::idempotency_keys;
use crate::domain::UserId;

#[derive(Debug, Clone, Queryable)]
pub struct KeyRow {
    pub request_hash: String,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub created_at: NaiveDateTime,
}

/// A request's key as a statement that also writes the request's change stores it, with the
/// answer (`pledge_statement`): the same row [`insert`] and [`complete`] make together.
pub struct Stored<'a> {
    pub user_id: UserId,
    pub key: &'a str,
    pub request_hash: &'a str,
    pub status: i32,
    /// The user's keys stored before this are removed, as every reservation of a key does.
    pub purge_before: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, user_id: UserId, key: &str) -> QueryResult<Option<KeyRow>> {
    idempotency_keys::table
        .find((user_id, key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
            idempotency_keys::created_at,
        ))
        .get_result(conn)
        .optional()
}

pub fn insert(
    conn: &mut DbConn,
    user_id: UserId,
    key: &str,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user_id),
            idempotency_keys::idempotency_key.eq(key),
            idempotency_keys::request_hash.eq(hash),
            idempotency_keys::created_at.eq(now),
        ))
        .execute(conn)
}

/// Restarts an abandoned in-progress record (its request died without an answer).
pub fn restart(
    conn: &mut DbConn,
    user_id: UserId,
    key: &str,
    started_before: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        idempotency_keys::table
            .find((user_id, key))
            .filter(idempotency_keys::response_status.is_null())
            .filter(idempotency_keys::created_at.lt(started_before)),
    )
    .set(idempotency_keys::created_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn complete(
    conn: &mut DbConn,
    user_id: UserId,
    key: &str,
    status: i32,
    body: &str,
) -> QueryResult<usize> {
    diesel::update(idempotency_keys::table.find((user_id, key)))
        .set((
            idempotency_keys::response_status.eq(Some(status)),
            idempotency_keys::response_body.eq(Some(body)),
        ))
        .returning(idempotency_keys::user_id)
        .prepared()
        .affected(conn)
}

pub fn delete(conn: &mut DbConn, user_id: UserId, key: &str) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.find((user_id, key))).execute(conn)
}

/// Removes records older than `before` (for one user, or all when `user_id` is `None`).
pub fn purge(conn: &mut DbConn, user_id: Option<UserId>, before: NaiveDateTime) -> QueryResult<usize> {
    match user_id {
        Some(user) => diesel::delete(
            idempotency_keys::table
                .filter(idempotency_keys::user_id.eq(user))
                .filter(idempotency_keys::created_at.lt(before)),
        )
        .execute(conn),
        None => diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
            .execute(conn),
    }
}
