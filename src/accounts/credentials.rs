//! Changing the password while logged in. (A change of address is in `verification`.)

use chrono::{DateTime, Utc};

use crate::auth::session;
use crate::db::{DbConn, users};
use crate::domain::{CoreError, UserId};
use crate::mail::queue::account as mail;

/// Sets a new password (already hashed; the caller checked the current one), ends every
/// session but `keep` (the caller's), and tells the account.
pub fn change_password(
    conn: &mut DbConn,
    user: UserId,
    password_hash: &str,
    keep: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    users::set_password(conn, user, password_hash, now.naive_utc())?;
    session::revoke_all(conn, user, keep, now)?;
    mail::password_changed(conn, user, false, now)?;
    Ok(())
}
