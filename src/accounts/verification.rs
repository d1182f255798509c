//! Email verification: at registration, on request (at most once a minute), and for a change
//! of address (which only takes effect when the link sent to the new address is opened).

use chrono::{DateTime, Duration, Utc};

use super::{issue, own, redeem};
use crate::db::users::UserRow;
use crate::db::{DbConn, users};
use crate::domain::{CoreError, Refusal, TokenPurpose, UserId};
use crate::mail::queue::account::{self as mail, VerifyTo};

/// The least time between two verification emails on request.
pub fn resend_spacing() -> Duration {
    Duration::minutes(1)
}

/// Queues the verification email of a new account.
pub fn start(conn: &mut DbConn, user: UserId, now: DateTime<Utc>) -> Result<(), CoreError> {
    let issued = issue(conn, user, TokenPurpose::VerifyEmail, None, now)?;
    mail::verify_email(
        conn,
        user,
        VerifyTo::Account,
        (issued.id, &issued.token),
        issued.expires_at,
        now,
    )?;
    Ok(())
}

/// `POST /me/verify-email/resend`.
pub fn resend(conn: &mut DbConn, user: UserId, now: DateTime<Utc>) -> Result<(), CoreError> {
    let row = own(conn, user)?;
    if row.email_verified_at.is_some() {
        return Err(Refusal::conflict("the email address is already verified").into());
    }
    if let Some(last) = crate::db::account_tokens::latest(conn, user, TokenPurpose::VerifyEmail)? {
        let next = last.and_utc() + resend_spacing();
        if next > now {
            return Err(Refusal::too_soon(
                "a verification email was sent less than a minute ago",
                next - now,
            )
            .into());
        }
    }
    start(conn, user, now)
}

/// What opening a verification link did.
pub enum Verified {
    /// The account's address is verified (now, or it already was).
    Address(UserRow),
    /// The account moved to the new address, verified by this link.
    Moved(UserRow),
}

/// `POST /auth/verify-email`: verifies the account's address, or completes a change of address.
/// A token of an account whose address is verified already still answers success (idempotent),
/// as long as the token itself is valid.
pub fn confirm(conn: &mut DbConn, token: &str, now: DateTime<Utc>) -> Result<Verified, CoreError> {
    let row = redeem(
        conn,
        token,
        &[TokenPurpose::VerifyEmail, TokenPurpose::ChangeEmail],
        now,
    )?;
    let account =
        own(conn, row.user_id).map_err(|_| Refusal::field("token", "is unknown, already used or expired"))?;
    match (row.purpose, row.new_email) {
        (TokenPurpose::ChangeEmail, Some(new_email)) => {
            if users::find_by_email(conn, &new_email)?.is_some() {
                return Err(Refusal::conflict("an account with this email already exists").into());
            }
            users::set_email(conn, account.id, &new_email, now.naive_utc())?;
            mail::email_changed(
                conn,
                account.id,
                (&account.email, &account.display_name),
                &new_email,
                row.id,
                now,
            )?;
            Ok(Verified::Moved(own(conn, account.id)?))
        }
        _ => {
            users::mark_verified(conn, account.id, now.naive_utc())?;
            Ok(Verified::Address(own(conn, account.id)?))
        }
    }
}

/// Starts a change of address: the link goes to `new_email`; the account keeps its address
/// until the link is opened. The caller has checked the password.
pub fn change_email(
    conn: &mut DbConn,
    user: UserId,
    new_email: &str,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    let account = own(conn, user)?;
    if account.email == new_email {
        return Err(Refusal::field("new_email", "is already the account's address").into());
    }
    if users::find_by_email(conn, new_email)?.is_some() {
        return Err(Refusal::conflict("an account with this email already exists").into());
    }
    let issued = issue(conn, user, TokenPurpose::ChangeEmail, Some(new_email), now)?;
    mail::verify_email(
        conn,
        user,
        VerifyTo::NewAddress {
            address: new_email,
            name: &account.display_name,
        },
        (issued.id, &issued.token),
        issued.expires_at,
        now,
    )?;
    Ok(())
}
