//! Logging in: the password's verdict, the per-account throttle and the second factor.
//!
//! The throttle lives in the account's row, so it holds whatever address the guesses come from
//! and across instances: after [`MAX_FAILED_LOGINS`] failed passwords (or second factors) within
//! [`failed_login_window`], the account's logins answer 429 for [`login_lock`]. A password
//! reset lifts it. Other routes that take the password (change of password or address, 2FA off,
//! deletion) count their failures here too.

use chrono::{DateTime, Duration, Utc};
use diesel::QueryResult;

use super::two_factor;
use crate::auth::session::{self, Session};
use crate::db::users::UserRow;
use crate::db::{DbConn, users};
use crate::domain::account::{MAX_FAILED_LOGINS, failed_login_window, login_lock};
use crate::domain::{CoreError, Refusal};

/// The second factor a login presents, if any.
#[derive(Debug, Clone)]
pub enum SecondFactor {
    None,
    Otp(String),
    RecoveryCode(String),
}

pub enum Outcome {
    Granted {
        user: Box<UserRow>,
        session: Session,
    },
    /// Wrong password, or wrong or reused second factor: counted against the account.
    Refused,
    /// Right password; the account has two-factor authentication and no code came.
    OtpRequired,
    Disabled,
    Locked {
        wait: Duration,
    },
}

/// How long the account's logins stay locked, if they are.
pub fn locked(user: &UserRow, now: DateTime<Utc>) -> Option<Duration> {
    let until = user.login_locked_until?.and_utc();
    (until > now).then(|| until - now)
}

/// The refusal for a locked account.
pub fn locked_refusal(wait: Duration) -> Refusal {
    Refusal::too_soon("too many failed logins for this account", wait)
}

/// Counts a failure against the account, locking it at the limit. The caller commits it even
/// though the request fails.
pub fn record_failure(conn: &mut DbConn, user: &UserRow, now: DateTime<Utc>) -> QueryResult<()> {
    let window_start = (now - failed_login_window()).naive_utc();
    let failures = users::record_failed_login(conn, user.id, window_start, now.naive_utc())?;
    if failures >= MAX_FAILED_LOGINS {
        tracing::warn!(user.id = %user.id, "too many failed logins; locking the account's logins");
        users::lock_logins(conn, user.id, Some((now + login_lock()).naive_utc()))?;
    }
    Ok(())
}

/// Concludes a login once the password has been checked. Run in a write transaction and
/// commit whatever the outcome: failures are counted.
pub fn conclude(
    conn: &mut DbConn,
    user: UserRow,
    password_ok: bool,
    second: &SecondFactor,
    now: DateTime<Utc>,
) -> Result<Outcome, CoreError> {
    // Read again inside the transaction: a lock taken meanwhile counts.
    let user = users::find(conn, user.id)?.ok_or(Refusal::NotFound)?;
    if let Some(wait) = locked(&user, now) {
        return Ok(Outcome::Locked { wait });
    }
    if !password_ok || user.deleted_at.is_some() {
        record_failure(conn, &user, now)?;
        return Ok(Outcome::Refused);
    }
    if user.disabled_at.is_some() {
        return Ok(Outcome::Disabled);
    }
    if user.totp().is_some() {
        let passed = match second {
            SecondFactor::None => return Ok(Outcome::OtpRequired),
            SecondFactor::Otp(code) => two_factor::accept_code(conn, &user, code, now)?,
            SecondFactor::RecoveryCode(code) => two_factor::accept_recovery_code(conn, &user, code, now)?,
        };
        if !passed {
            record_failure(conn, &user, now)?;
            return Ok(Outcome::Refused);
        }
    }
    if user.failed_logins > 0 {
        users::lock_logins(conn, user.id, None)?;
    }
    let session = session::start(conn, user.id, now)?;
    Ok(Outcome::Granted {
        user: Box::new(user),
        session,
    })
}

/// For the routes that take the password of a logged-in account: counts a wrong one (commit
/// it), and refuses while the account is locked.
pub fn check_password(
    conn: &mut DbConn,
    user: &UserRow,
    password_ok: bool,
    field: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), Refusal>, CoreError> {
    if let Some(wait) = locked(user, now) {
        return Ok(Err(locked_refusal(wait)));
    }
    if !password_ok {
        record_failure(conn, user, now)?;
        return Ok(Err(Refusal::field(field, "is not the account's password")));
    }
    Ok(Ok(()))
}
