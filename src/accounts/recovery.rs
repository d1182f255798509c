//! Password reset by email. Asking never reveals whether an account exists: the route answers
//! the same at once, and this work happens after.

use chrono::{DateTime, Duration, Utc};

use super::{issue, redeem, usable};
use crate::auth::session;
use crate::db::users::UserRow;
use crate::db::{DbConn, account_tokens, users};
use crate::domain::{CoreError, Refusal, TokenPurpose, UserId};
use crate::mail::queue::account as mail;

/// At most one reset email per account in this time, however often it is asked for.
pub fn request_spacing() -> Duration {
    Duration::minutes(1)
}

/// Queues a reset link for the account with this (normalised) address, if there is one that
/// may log in. Returns whether an email was queued (for the log, never for the answer).
pub fn request(conn: &mut DbConn, email: &str, now: DateTime<Utc>) -> Result<bool, CoreError> {
    let Some(user) = users::find_by_email(conn, email)? else {
        return Ok(false);
    };
    if user.deleted_at.is_some() || user.disabled_at.is_some() {
        return Ok(false);
    }
    if let Some(last) = account_tokens::latest(conn, user.id, TokenPurpose::ResetPassword)?
        && last.and_utc() + request_spacing() > now
    {
        return Ok(false);
    }
    let issued = issue(conn, user.id, TokenPurpose::ResetPassword, None, now)?;
    mail::password_reset(conn, user.id, (issued.id, &issued.token), issued.expires_at, now)?;
    Ok(true)
}

/// The account a reset token would act on, without using it (to check the new password
/// against the account's address before hashing it).
pub fn peek(conn: &mut DbConn, token: &str, now: DateTime<Utc>) -> Result<UserRow, CoreError> {
    let row = usable(conn, token, &[TokenPurpose::ResetPassword], now)?;
    super::own(conn, row.user_id)
        .map_err(|_| Refusal::field("token", "is unknown, already used or expired").into())
}

/// Sets the password from a reset link: the address is then verified (the link reached it),
/// every session ends, a login lock is lifted, and the account is told.
pub fn confirm(
    conn: &mut DbConn,
    token: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<UserId, CoreError> {
    let row = redeem(conn, token, &[TokenPurpose::ResetPassword], now)?;
    let user = row.user_id;
    users::set_password(conn, user, password_hash, now.naive_utc())?;
    users::mark_verified(conn, user, now.naive_utc())?;
    users::lock_logins(conn, user, None)?;
    session::revoke_all(conn, user, None, now)?;
    mail::password_changed(conn, user, true, now)?;
    Ok(user)
}
