//! Queries of the email outbox. Rows are queued inside the transaction of the change that causes
//! them, with `ON CONFLICT DO NOTHING` on (template, recipient, subject_id) so a repeated change
//! queues nothing new; the worker claims due rows with a lease, as settlement claims pledges.

mod fanout;

pub use fanout::{queue_for_backers, queue_for_followers};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::DbConn;
use super::prepared::PreparedDsl;
use super::schema::email_outbox;
use crate::domain::{OutboxStatus, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub template: String,
    pub recipient: String,
    pub recipient_name: String,
    pub subject_id: String,
    pub context: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub user_id: Option<UserId>,
}

/// Which accounts an email may go to. Until an address is verified it receives nothing but the
/// account's own emails (its verification, a reset it asked for): registering someone else's
/// address must not let anyone mail it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addresses {
    Verified,
    Any,
}

impl Addresses {
    pub(crate) fn condition(self) -> &'static str {
        match self {
            Self::Verified => " AND u.email_verified_at IS NOT NULL",
            Self::Any => "",
        }
    }
}

/// One email for [`queue_for_users`].
pub struct ToUser {
    pub user_id: UserId,
    pub subject_id: String,
    /// The template's context, as JSON.
    pub context: String,
}

/// A row [`queue_for_users`] inserted.
#[derive(QueryableByName)]
struct Queued {
    #[diesel(sql_type = BigInt)]
    #[allow(dead_code)]
    id: i64,
}

/// Queues emails of one template to users in one statement, whatever their number; each
/// address and name is read from `users` in the same statement. Returns how many were queued
/// (an email already queued once under its subject is not queued again).
pub fn queue_for_users(
    conn: &mut DbConn,
    template: &str,
    addresses: Addresses,
    emails: &[ToUser],
    now: NaiveDateTime,
) -> QueryResult<usize> {
    queue_for_users_due(conn, template, addresses, emails, now, now)
}

/// [`queue_for_users`], sent no earlier than `due`.
pub fn queue_for_users_due(
    conn: &mut DbConn,
    template: &str,
    addresses: Addresses,
    emails: &[ToUser],
    due: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    if emails.is_empty() {
        return Ok(0);
    }
    let values = vec!["(?, ?, ?)"; emails.len()].join(", ");
    let sql = super::for_backend(
        conn,
        &format!(
            "WITH v (user_id, subject_id, context) AS (VALUES {values}) \
             INSERT INTO email_outbox \
             (template, recipient, recipient_name, subject_id, context, next_attempt_at, created_at, user_id) \
             SELECT ?, u.email, u.display_name, v.subject_id, v.context, ?, ?, u.id FROM v, users u \
             WHERE u.id = v.user_id AND u.deleted_at IS NULL{} \
             ON CONFLICT (template, recipient, subject_id) DO NOTHING \
             RETURNING id",
            addresses.condition()
        ),
    );
    super::on_backend!(conn, |c| {
        let mut query = diesel::sql_query(sql).into_boxed();
        for email in emails {
            query = query
                .bind::<BigInt, _>(email.user_id)
                .bind::<Text, _>(&email.subject_id)
                .bind::<Text, _>(&email.context);
        }
        let query = query
            .bind::<Text, _>(template)
            .bind::<Timestamp, _>(due)
            .bind::<Timestamp, _>(now);
        // One email (a pledge's confirmation) is the shape every request sends: keep it
        // prepared. Longer lists have as many shapes as lengths, and are sent by batch work.
        if emails.len() == 1 {
            query.prepared().load::<Queued>(c).map(|rows| rows.len())
        } else {
            query.load::<Queued>(c).map(|rows| rows.len())
        }
    })
}

/// One email to an address that is not (yet) the account's: the confirmation of a new
/// address, or the last word to an address being deleted.
pub struct ToAddress<'a> {
    pub user_id: UserId,
    pub recipient: &'a str,
    pub recipient_name: &'a str,
    pub subject_id: &'a str,
    pub context: &'a str,
}

pub fn queue_to_address(
    conn: &mut DbConn,
    template: &str,
    email: &ToAddress<'_>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let sql = super::for_backend(
        conn,
        "INSERT INTO email_outbox \
         (template, recipient, recipient_name, subject_id, context, next_attempt_at, created_at, user_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (template, recipient, subject_id) DO NOTHING",
    );
    diesel::sql_query(sql)
        .bind::<Text, _>(template)
        .bind::<Text, _>(email.recipient)
        .bind::<Text, _>(email.recipient_name)
        .bind::<Text, _>(email.subject_id)
        .bind::<Text, _>(email.context)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(now)
        .bind::<BigInt, _>(email.user_id)
        .execute(conn)
}

/// The newest row of `template` whose subject starts with `prefix`.
pub fn latest_with_subject(
    conn: &mut DbConn,
    template: &str,
    prefix: &str,
) -> QueryResult<Option<OutboxRow>> {
    email_outbox::table
        .filter(email_outbox::template.eq(template))
        .filter(email_outbox::subject_id.like(format!("{prefix}%")))
        .order(email_outbox::id.desc())
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()
}

/// Replaces the context of a row no worker has started on; returns whether it did.
pub fn replace_queued_context(
    conn: &mut DbConn,
    id: i64,
    context: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        email_outbox::table
            .find(id)
            .filter(email_outbox::status.eq(OutboxStatus::Queued))
            .filter(
                email_outbox::lease_until
                    .is_null()
                    .or(email_outbox::lease_until.lt(now)),
            ),
    )
    .set(email_outbox::context.eq(context))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Every email queued for the user, oldest first.
pub fn for_user(conn: &mut DbConn, user: UserId) -> QueryResult<Vec<OutboxRow>> {
    email_outbox::table
        .filter(email_outbox::user_id.eq(user))
        .order(email_outbox::id)
        .select(OutboxRow::as_select())
        .load(conn)
}

/// Forgets the person in the user's emails: unsent ones are dropped, sent ones keep only
/// `pseudonym` as their address and name.
pub fn forget_user(conn: &mut DbConn, user: UserId, pseudonym: &str, name: &str) -> QueryResult<usize> {
    diesel::delete(
        email_outbox::table
            .filter(email_outbox::user_id.eq(user))
            .filter(email_outbox::status.eq(OutboxStatus::Queued)),
    )
    .execute(conn)?;
    diesel::update(email_outbox::table.filter(email_outbox::user_id.eq(user)))
        .set((
            email_outbox::recipient.eq(pseudonym),
            email_outbox::recipient_name.eq(name),
        ))
        .execute(conn)
}

/// After delivery: what the row keeps of an email that must not outlive it (a link's token,
/// the address of an account that no longer exists).
pub fn redact(
    conn: &mut DbConn,
    id: i64,
    context: &str,
    recipient: Option<(&str, &str)>,
) -> QueryResult<usize> {
    match recipient {
        Some((recipient, name)) => diesel::update(email_outbox::table.find(id))
            .set((
                email_outbox::context.eq(context),
                email_outbox::recipient.eq(recipient),
                email_outbox::recipient_name.eq(name),
            ))
            .execute(conn),
        None => diesel::update(email_outbox::table.find(id))
            .set(email_outbox::context.eq(context))
            .execute(conn),
    }
}

/// Leases up to `limit` queued rows that are due, counting an attempt on each.
pub fn claim_due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    let due = || {
        email_outbox::status
            .eq(OutboxStatus::Queued)
            .and(email_outbox::next_attempt_at.le(now))
            .and(
                email_outbox::lease_until
                    .is_null()
                    .or(email_outbox::lease_until.lt(now)),
            )
    };
    let candidates: Vec<i64> = email_outbox::table
        .filter(due())
        .order((email_outbox::next_attempt_at, email_outbox::id))
        .limit(limit)
        .select(email_outbox::id)
        .load(conn)?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    // The conditions again: a worker that claimed a row first makes this one skip it.
    diesel::update(
        email_outbox::table
            .filter(email_outbox::id.eq_any(&candidates))
            .filter(due()),
    )
    .set((
        email_outbox::lease_until.eq(lease_until),
        email_outbox::attempts.eq(email_outbox::attempts + 1),
    ))
    .returning(email_outbox::all_columns)
    .get_results(conn)
}

/// Marks a claimed row sent. False if it was no longer queued (another worker finished it).
pub fn mark_sent(conn: &mut DbConn, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        email_outbox::table
            .find(id)
            .filter(email_outbox::status.eq(OutboxStatus::Queued)),
    )
    .set((
        email_outbox::status.eq(OutboxStatus::Sent),
        email_outbox::sent_at.eq(now),
        email_outbox::lease_until.eq(None::<NaiveDateTime>),
        email_outbox::last_error.eq(None::<String>),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// Records a failed attempt: retried at `retry_at`, or given up on when `retry_at` is `None`.
pub fn mark_attempt_failed(
    conn: &mut DbConn,
    id: i64,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> QueryResult<usize> {
    let target = email_outbox::table
        .find(id)
        .filter(email_outbox::status.eq(OutboxStatus::Queued));
    match retry_at {
        Some(at) => diesel::update(target)
            .set((
                email_outbox::next_attempt_at.eq(at),
                email_outbox::lease_until.eq(None::<NaiveDateTime>),
                email_outbox::last_error.eq(error),
            ))
            .execute(conn),
        None => diesel::update(target)
            .set((
                email_outbox::status.eq(OutboxStatus::Failed),
                email_outbox::lease_until.eq(None::<NaiveDateTime>),
                email_outbox::last_error.eq(error),
            ))
            .execute(conn),
    }
}

/// Rows per status, for `/metrics`.
pub fn counts_by_status(conn: &mut DbConn) -> QueryResult<Vec<(OutboxStatus, i64)>> {
    email_outbox::table
        .group_by(email_outbox::status)
        .select((email_outbox::status, diesel::dsl::count_star()))
        .load(conn)
}
