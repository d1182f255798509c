//! Two-factor recovery codes, stored only as their SHA-256.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::recovery_codes;
use crate::domain::UserId;

/// Replaces the user's codes with `hashes`.
pub fn replace(conn: &mut DbConn, user: UserId, hashes: &[String], now: NaiveDateTime) -> QueryResult<usize> {
    delete_for(conn, user)?;
    let mut inserted = 0;
    for hash in hashes {
        inserted += diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user),
                recovery_codes::code_hash.eq(hash),
                recovery_codes::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(inserted)
}

/// Uses up the code with this hash if it is the user's and unused; returns whether it was.
pub fn consume(conn: &mut DbConn, user: UserId, hash: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user))
            .filter(recovery_codes::code_hash.eq(hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn delete_for(conn: &mut DbConn, user: UserId) -> QueryResult<usize> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user))).execute(conn)
}
