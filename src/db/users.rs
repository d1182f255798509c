use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Timestamp};

use super::DbConn;
use super::schema::users;
use crate::domain::{Role, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub email_verified_at: Option<NaiveDateTime>,
    pub disabled_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
    pub totp_secret: Option<String>,
    pub totp_enabled_at: Option<NaiveDateTime>,
    pub totp_last_step: Option<i64>,
    pub failed_logins: i32,
    pub failed_logins_since: Option<NaiveDateTime>,
    pub login_locked_until: Option<NaiveDateTime>,
}

impl UserRow {
    /// The TOTP secret, when two-factor authentication is on (not merely being set up).
    pub fn totp(&self) -> Option<&str> {
        self.totp_enabled_at.and(self.totp_secret.as_deref())
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub email_verified_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConn, new: &NewUser<'_>) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(users::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConn, id: UserId) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

/// `email` must already be normalised (see `domain::Email`).
pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn set_role(conn: &mut DbConn, id: UserId, role: Role, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::role.eq(role), users::updated_at.eq(now)))
        .execute(conn)
}

/// Marks the address verified; a no-op for one verified already.
pub fn mark_verified(conn: &mut DbConn, id: UserId, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id).filter(users::email_verified_at.is_null()))
        .set((users::email_verified_at.eq(now), users::updated_at.eq(now)))
        .execute(conn)
}

/// Moves the account to a new, verified, address.
pub fn set_email(conn: &mut DbConn, id: UserId, email: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(email),
            users::email_verified_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn set_password(conn: &mut DbConn, id: UserId, hash: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
        .execute(conn)
}

/// Disables (`Some`) or enables (`None`) an account.
pub fn set_disabled(
    conn: &mut DbConn,
    id: UserId,
    disabled_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::disabled_at.eq(disabled_at), users::updated_at.eq(now)))
        .execute(conn)
}

#[derive(QueryableByName)]
struct Failures {
    #[diesel(sql_type = Integer)]
    failed_logins: i32,
}

/// Counts a failed login in the window that began within `window_start`..now, or starts a new
/// window; one statement, so concurrent failures all count. Returns the count in the window.
pub fn record_failed_login(
    conn: &mut DbConn,
    id: UserId,
    window_start: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<i32> {
    let sql = super::for_backend(
        conn,
        "UPDATE users SET \
         failed_logins = CASE WHEN failed_logins_since IS NULL OR failed_logins_since <= ? \
             THEN 1 ELSE failed_logins + 1 END, \
         failed_logins_since = CASE WHEN failed_logins_since IS NULL OR failed_logins_since <= ? \
             THEN ? ELSE failed_logins_since END \
         WHERE id = ? RETURNING failed_logins",
    );
    diesel::sql_query(sql)
        .bind::<Timestamp, _>(window_start)
        .bind::<Timestamp, _>(window_start)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(id)
        .get_result::<Failures>(conn)
        .map(|f| f.failed_logins)
}

/// Locks logins until `until` (`None` lifts a lock) and starts counting failures afresh.
pub fn lock_logins(conn: &mut DbConn, id: UserId, until: Option<NaiveDateTime>) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::login_locked_until.eq(until),
            users::failed_logins.eq(0),
            users::failed_logins_since.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
}

/// Stores a secret being enrolled; two-factor authentication stays off until it is confirmed.
pub fn set_pending_totp(
    conn: &mut DbConn,
    id: UserId,
    secret: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id).filter(users::totp_enabled_at.is_null()))
        .set((
            users::totp_secret.eq(secret),
            users::totp_last_step.eq(None::<i64>),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn enable_totp(conn: &mut DbConn, id: UserId, step: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        users::table
            .find(id)
            .filter(users::totp_enabled_at.is_null())
            .filter(users::totp_secret.is_not_null()),
    )
    .set((
        users::totp_enabled_at.eq(now),
        users::totp_last_step.eq(step),
        users::updated_at.eq(now),
    ))
    .execute(conn)
}

pub fn disable_totp(conn: &mut DbConn, id: UserId, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::totp_secret.eq(None::<String>),
            users::totp_enabled_at.eq(None::<NaiveDateTime>),
            users::totp_last_step.eq(None::<i64>),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Accepts a code's time step only if no code of that step or a later one was accepted: each
/// code works once, even when two logins present it at the same moment.
pub fn accept_totp_step(conn: &mut DbConn, id: UserId, step: i64) -> QueryResult<bool> {
    let updated = diesel::update(
        users::table
            .find(id)
            .filter(users::totp_last_step.is_null().or(users::totp_last_step.lt(step))),
    )
    .set(users::totp_last_step.eq(step))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Erases the person from the row, which stays for what refers to it.
pub fn pseudonymise(
    conn: &mut DbConn,
    id: UserId,
    pseudonym: &str,
    name: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(pseudonym),
            users::display_name.eq(name),
            // Not a PHC string: no password verifies against it.
            users::password_hash.eq(""),
            users::email_verified_at.eq(None::<NaiveDateTime>),
            users::totp_secret.eq(None::<String>),
            users::totp_enabled_at.eq(None::<NaiveDateTime>),
            users::totp_last_step.eq(None::<i64>),
            users::failed_logins.eq(0),
            users::failed_logins_since.eq(None::<NaiveDateTime>),
            users::login_locked_until.eq(None::<NaiveDateTime>),
            users::deleted_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Accounts whose address contains `q` (all when empty), by id, after `after`; deleted
/// accounts are left out.
pub fn search(conn: &mut DbConn, q: &str, after: Option<UserId>, limit: i64) -> QueryResult<Vec<UserRow>> {
    let mut query = users::table
        .filter(users::deleted_at.is_null())
        .select(UserRow::as_select())
        .order(users::id)
        .limit(limit)
        .into_boxed();
    if !q.is_empty() {
        let escaped = q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        query = query.filter(users::email.like(format!("%{escaped}%")).escape('\\'));
    }
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    query.load(conn)
}
