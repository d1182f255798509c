//! Two-factor authentication with TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of
//! skew either way), by the `totp-rs` crate. Each accepted code's step is stored, so a code
//! works once; ten recovery codes, each usable once, stand in for a lost device.

use chrono::{DateTime, Utc};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::own;
use crate::auth::session::hash_token;
use crate::config::hex;
use crate::db::users::UserRow;
use crate::db::{DbConn, recovery_codes, users};
use crate::domain::{CoreError, Refusal, UserId};

pub const ISSUER: &str = "crowdfund";
pub const RECOVERY_CODES: usize = 10;

fn totp(secret_base32: &str, account: &str) -> Result<Totp, CoreError> {
    let secret = Secret::try_from_base32(secret_base32)
        .map_err(|e| CoreError::unexpected(format!("stored TOTP secret: {e}")))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .map_err(|e| CoreError::unexpected(format!("TOTP: {e}")))
}

fn unix(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp()).unwrap_or(0)
}

/// An enrolment in progress: the secret for an authenticator app, also as its URI.
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

/// `POST /me/2fa`: a new secret, not yet in force (a second call replaces it).
pub fn enrol(conn: &mut DbConn, user: UserId, now: DateTime<Utc>) -> Result<Enrolment, CoreError> {
    let account = own(conn, user)?;
    if account.totp().is_some() {
        return Err(Refusal::conflict("two-factor authentication is already on; turn it off first").into());
    }
    let secret = Secret::from(rand::random::<[u8; 20]>()).to_base32();
    let otpauth_uri = totp(&secret, &account.email)?
        .to_url()
        .map_err(|e| CoreError::unexpected(format!("otpauth URI: {e}")))?;
    users::set_pending_totp(conn, user, &secret, now.naive_utc())?;
    Ok(Enrolment { secret, otpauth_uri })
}

/// `POST /me/2fa/confirm`: a code from the enrolled secret turns it on; returns the recovery
/// codes, shown this once.
pub fn confirm(
    conn: &mut DbConn,
    user: UserId,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>, CoreError> {
    let account = own(conn, user)?;
    if account.totp().is_some() {
        return Err(Refusal::conflict("two-factor authentication is already on").into());
    }
    let Some(secret) = account.totp_secret.as_deref() else {
        return Err(Refusal::conflict("no enrolment in progress: POST /api/v1/me/2fa first").into());
    };
    let step = totp(secret, &account.email)?
        .check(code.trim(), unix(now))
        .ok_or_else(|| Refusal::field("code", "is not a current code of the enrolled secret"))?;
    users::enable_totp(
        conn,
        user,
        i64::try_from(step).unwrap_or(i64::MAX),
        now.naive_utc(),
    )?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|c| hash_token(&normalise(c))).collect();
    recovery_codes::replace(conn, user, &hashes, now.naive_utc())?;
    Ok(codes)
}

/// Turns it off. The caller has checked the password; `code` is a current code or a
/// recovery code.
pub fn disable(conn: &mut DbConn, user: &UserRow, code: &str, now: DateTime<Utc>) -> Result<bool, CoreError> {
    if user.totp().is_none() {
        return Err(Refusal::conflict("two-factor authentication is not on").into());
    }
    if !(accept_code(conn, user, code, now)? || accept_recovery_code(conn, user, code, now)?) {
        return Ok(false);
    }
    users::disable_totp(conn, user.id, now.naive_utc())?;
    recovery_codes::delete_for(conn, user.id)?;
    Ok(true)
}

/// Whether `code` is a current code (±1 step) not used before; uses it up.
pub fn accept_code(
    conn: &mut DbConn,
    user: &UserRow,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, CoreError> {
    let Some(secret) = user.totp() else {
        return Ok(false);
    };
    let Some(step) = totp(secret, &user.email)?.check(code.trim(), unix(now)) else {
        return Ok(false);
    };
    Ok(users::accept_totp_step(
        conn,
        user.id,
        i64::try_from(step).unwrap_or(i64::MAX),
    )?)
}

/// Whether `code` is one of the account's unused recovery codes; uses it up.
pub fn accept_recovery_code(
    conn: &mut DbConn,
    user: &UserRow,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, CoreError> {
    Ok(recovery_codes::consume(
        conn,
        user.id,
        &hash_token(&normalise(code)),
        now.naive_utc(),
    )?)
}

/// 80 random bits as four groups of five hex digits.
fn recovery_code() -> String {
    let digits = hex(&rand::random::<[u8; 10]>());
    digits
        .as_bytes()
        .chunks(5)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Codes are typed by people: case, spaces and dashes do not matter.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_random_and_forgiving_to_type() {
        let (a, b) = (recovery_code(), recovery_code());
        assert_ne!(a, b);
        assert_eq!(a.len(), 23, "{a}");
        assert_eq!(normalise(&a.to_uppercase().replace('-', " ")), normalise(&a));
    }

    #[test]
    fn a_code_from_the_secret_checks_within_one_step() {
        let secret = Secret::from([7u8; 20]).to_base32();
        let t = totp(&secret, "ana@example.com").unwrap();
        let at = 1_800_000_000;
        let code = t.generate(at).to_string();
        assert!(t.check(&code, at + 30).is_some());
        assert!(t.check(&code, at + 90).is_none());
        assert!(
            t.to_url()
                .unwrap()
                .starts_with("otpauth://totp/crowdfund:ana%40example.com?")
        );
    }
}
