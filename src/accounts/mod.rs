//! The account lifecycle beyond register and login: a verified address, recovery, changes of
//! password and address, two-factor authentication, per-account login throttling, deletion,
//! export, and the admins' view. Rules run inside the caller's transaction; password hashing
//! happens before, on the bounded hashing threads (`auth::password::Hashing`), and the rules
//! take its verdict.

pub mod admin;
pub mod credentials;
pub mod deletion;
pub mod export;
pub mod login;
pub mod recovery;
pub mod two_factor;
pub mod verification;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::QueryResult;

use crate::auth::session::hash_token;
use crate::db::users::UserRow;
use crate::db::{DbConn, account_tokens, users};
use crate::domain::{CoreError, Refusal, TokenPurpose, UserId};

/// A link's token as emailed, and what is kept of it.
pub struct Issued {
    pub id: i64,
    pub token: String,
    pub expires_at: NaiveDateTime,
}

/// Issues a token for `purpose` (256 random bits, kept only as SHA-256), retiring the user's
/// older ones for the same purpose: only the newest link works.
fn issue(
    conn: &mut DbConn,
    user: UserId,
    purpose: TokenPurpose,
    new_email: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<Issued> {
    account_tokens::retire(conn, user, purpose, now.naive_utc())?;
    let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let expires_at = (now + purpose.lifetime()).naive_utc();
    let id = account_tokens::insert(
        conn,
        &account_tokens::NewAccountToken {
            user_id: user,
            purpose,
            token_hash: &hash_token(&token),
            new_email,
            created_at: now.naive_utc(),
            expires_at,
        },
    )?;
    Ok(Issued {
        id,
        token,
        expires_at,
    })
}

/// The unused, unexpired token presented for one of `purposes`, left as it is; a refusal naming
/// the `token` field otherwise (unknown, used, expired or for something else).
fn usable(
    conn: &mut DbConn,
    presented: &str,
    purposes: &[TokenPurpose],
    now: DateTime<Utc>,
) -> Result<account_tokens::AccountTokenRow, CoreError> {
    let invalid = || Refusal::field("token", "is unknown, already used or expired");
    let row = account_tokens::find_by_hash(conn, &hash_token(presented))?.ok_or_else(invalid)?;
    if !purposes.contains(&row.purpose) || row.used_at.is_some() || row.expires_at <= now.naive_utc() {
        return Err(invalid().into());
    }
    Ok(row)
}

/// [`usable`], and used up by this call (a concurrent use of the same token loses).
fn redeem(
    conn: &mut DbConn,
    presented: &str,
    purposes: &[TokenPurpose],
    now: DateTime<Utc>,
) -> Result<account_tokens::AccountTokenRow, CoreError> {
    let row = usable(conn, presented, purposes, now)?;
    if !account_tokens::mark_used(conn, row.id, now.naive_utc())? {
        return Err(Refusal::field("token", "is unknown, already used or expired").into());
    }
    Ok(row)
}

/// The caller's own account, as long as it exists.
pub fn own(conn: &mut DbConn, user: UserId) -> Result<UserRow, CoreError> {
    match users::find(conn, user)? {
        Some(row) if row.deleted_at.is_none() => Ok(row),
        _ => Err(Refusal::NotFound.into()),
    }
}
