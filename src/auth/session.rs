//! Refresh tokens: random, stored only as SHA-256, rotated on every use.
//!
//! Each login starts a *family*; every rotation issues the next token of that family and marks
//! the presented one used. Presenting a used token again means it was copied — by the user's
//! other tab or by a thief, the server cannot tell — so the whole family is revoked and the
//! user must log in again (the OAuth 2.0 Security BCP's reuse detection).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use diesel::QueryResult;
use sha2::{Digest, Sha256};

use crate::config::hex;
use crate::db::{DbConn, refresh_tokens};
use crate::domain::UserId;

pub const REFRESH_TOKEN_TTL_DAYS: i64 = 30;

pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn insert(conn: &mut DbConn, user: UserId, family_id: &str, now: DateTime<Utc>) -> QueryResult<String> {
    let token = random_token();
    refresh_tokens::insert(
        conn,
        &refresh_tokens::NewRefreshToken {
            user_id: user,
            family_id,
            token_hash: &hash_token(&token),
            created_at: now.naive_utc(),
            expires_at: (now + Duration::days(REFRESH_TOKEN_TTL_DAYS)).naive_utc(),
        },
    )?;
    Ok(token)
}

/// A session's current refresh token, and the family (session id) it belongs to.
pub struct Session {
    pub refresh_token: String,
    pub family: String,
}

/// Starts a new family for a fresh login; returns its first refresh token.
pub fn start(conn: &mut DbConn, user: UserId, now: DateTime<Utc>) -> QueryResult<Session> {
    let family = hex(&rand::random::<[u8; 16]>());
    let refresh_token = insert(conn, user, &family, now)?;
    Ok(Session {
        refresh_token,
        family,
    })
}

pub enum Rotation {
    Rotated {
        user: UserId,
        session: Session,
    },
    /// Unknown, expired, revoked or reused; a reuse has revoked the family as a side effect,
    /// so the caller must commit the transaction before answering 401.
    Refused,
}

/// Exchanges a refresh token for the next one of its family. Run in a write transaction.
pub fn rotate(conn: &mut DbConn, presented: &str, now: DateTime<Utc>) -> QueryResult<Rotation> {
    let Some(row) = refresh_tokens::find_by_hash(conn, &hash_token(presented))? else {
        return Ok(Rotation::Refused);
    };
    let now_naive = now.naive_utc();
    if row.revoked_at.is_some() || row.expires_at <= now_naive {
        return Ok(Rotation::Refused);
    }
    if row.rotated_at.is_some() || !refresh_tokens::mark_rotated(conn, row.id, now_naive)? {
        tracing::warn!(user.id = %row.user_id, "refresh token reused; revoking its family");
        refresh_tokens::revoke_family(conn, &row.family_id, now_naive)?;
        return Ok(Rotation::Refused);
    }
    let user = row.user_id;
    let refresh_token = insert(conn, user, &row.family_id, now)?;
    Ok(Rotation::Rotated {
        user,
        session: Session {
            refresh_token,
            family: row.family_id,
        },
    })
}

/// Ends the session the token belongs to (its whole family). Unknown tokens are ignored.
pub fn revoke(conn: &mut DbConn, presented: &str, now: DateTime<Utc>) -> QueryResult<()> {
    if let Some(row) = refresh_tokens::find_by_hash(conn, &hash_token(presented))? {
        refresh_tokens::revoke_family(conn, &row.family_id, now.naive_utc())?;
    }
    Ok(())
}

/// Ends every session of the user but `keep` (the caller's own, when it is known).
pub fn revoke_all(
    conn: &mut DbConn,
    user: UserId,
    keep: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    refresh_tokens::revoke_user(conn, user, keep, now.naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43, "32 bytes, base64url without padding");
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_eq!(hash_token(&a).len(), 64);
    }
}
