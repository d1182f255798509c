//! The account's own emails. They reach an address before it is verified (see
//! [`Template::addresses`]); links carry a token that the outbox row forgets once the email
//! is delivered ([`redaction`]).
//!
//! | template | to | subject id | queued by |
//! |---|---|---|---|
//! | `verify_email` | the address to verify (the account's, or the new one) | `account-token:{id}` | `accounts::verification` |
//! | `password_reset` | account | `account-token:{id}` | `accounts::recovery::request` |
//! | `password_changed` | account | `password:{instant}` | `accounts::recovery::confirm`, `accounts::credentials::change_password` |
//! | `email_changed` | the previous address | `email-changed:{token id}` | `accounts::verification::confirm` |
//! | `account_deleted` | the address being dropped | `account-deleted` | `accounts::deletion` |
//! | `webhook_disabled` | the endpoint's owner | `webhook-disabled:{endpoint id}:{failing since}` | `webhooks::delivery` (5 days of failures) |

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::QueryResult;
use serde_json::{Value, json};

use super::{instant, to_user};
use crate::db::DbConn;
use crate::db::outbox::{self, OutboxRow, ToAddress};
use crate::domain::UserId;
use crate::mail::Template;

/// What stands in for a delivered token.
const REDACTED: &str = "redacted";

/// Where a verification link goes: the account's own address, or a new one it moves to.
pub enum VerifyTo<'a> {
    Account,
    NewAddress { address: &'a str, name: &'a str },
}

pub fn verify_email(
    conn: &mut DbConn,
    user: UserId,
    to: VerifyTo<'_>,
    token: (i64, &str),
    expires_at: NaiveDateTime,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let (token_id, token) = token;
    let subject = format!("account-token:{token_id}");
    let template = Template::VerifyEmail;
    match to {
        VerifyTo::Account => {
            let context = json!({ "token": token, "change": false, "expires_at": instant(expires_at) });
            to_user(conn, template, user, &subject, &context.to_string(), now)
        }
        VerifyTo::NewAddress { address, name } => {
            let context = json!({ "token": token, "change": true, "expires_at": instant(expires_at) });
            let email = ToAddress {
                user_id: user,
                recipient: address,
                recipient_name: name,
                subject_id: &subject,
                context: &context.to_string(),
            };
            outbox::queue_to_address(conn, template.as_str(), &email, now.naive_utc()).map(drop)
        }
    }
}

pub fn password_reset(
    conn: &mut DbConn,
    user: UserId,
    token: (i64, &str),
    expires_at: NaiveDateTime,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let (token_id, token) = token;
    let context = json!({ "token": token, "expires_at": instant(expires_at) });
    to_user(
        conn,
        Template::PasswordReset,
        user,
        &format!("account-token:{token_id}"),
        &context.to_string(),
        now,
    )
}

/// `reset`: the password was set through a reset link rather than changed while logged in.
pub fn password_changed(conn: &mut DbConn, user: UserId, reset: bool, now: DateTime<Utc>) -> QueryResult<()> {
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let context = json!({ "changed_at": instant(now.naive_utc()), "reset": reset });
    to_user(
        conn,
        Template::PasswordChanged,
        user,
        &format!("password:{at}"),
        &context.to_string(),
        now,
    )
}

/// To the address the account just left.
pub fn email_changed(
    conn: &mut DbConn,
    user: UserId,
    previous: (&str, &str),
    new_address: &str,
    token_id: i64,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let context = json!({ "new_email": new_address, "changed_at": instant(now.naive_utc()) });
    let email = ToAddress {
        user_id: user,
        recipient: previous.0,
        recipient_name: previous.1,
        subject_id: &format!("email-changed:{token_id}"),
        context: &context.to_string(),
    };
    outbox::queue_to_address(conn, Template::EmailChanged.as_str(), &email, now.naive_utc()).map(drop)
}

/// The last email to an address being deleted; once delivered, the row keeps only `pseudonym`.
pub fn account_deleted(
    conn: &mut DbConn,
    user: UserId,
    address: (&str, &str),
    pseudonym: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let context = json!({ "pseudonym": pseudonym, "deleted_at": instant(now.naive_utc()) });
    let email = ToAddress {
        user_id: user,
        recipient: address.0,
        recipient_name: address.1,
        subject_id: "account-deleted",
        context: &context.to_string(),
    };
    outbox::queue_to_address(conn, Template::AccountDeleted.as_str(), &email, now.naive_utc()).map(drop)
}

/// What a row keeps after its email is delivered (or given up on).
pub struct Redaction {
    pub context: String,
    recipient: Option<String>,
}

impl Redaction {
    pub fn recipient(&self) -> Option<(&str, &str)> {
        self.recipient
            .as_deref()
            .map(|r| (r, crate::domain::account::DELETED_NAME))
    }
}

/// `None` when the row may keep everything.
pub fn redaction(row: &OutboxRow) -> Option<Redaction> {
    let template: Template = row.template.parse().ok()?;
    let mut context: Value = serde_json::from_str(&row.context).ok()?;
    if template.carries_token() {
        context["token"] = json!(REDACTED);
        return Some(Redaction {
            context: context.to_string(),
            recipient: None,
        });
    }
    if template == Template::AccountDeleted {
        let pseudonym = context["pseudonym"].as_str()?.to_owned();
        return Some(Redaction {
            context: context.to_string(),
            recipient: Some(pseudonym),
        });
    }
    None
}

/// The owner's webhook endpoint failed every delivery since `failing_since` and was disabled.
pub fn webhook_disabled(
    conn: &mut DbConn,
    owner: UserId,
    endpoint_id: i64,
    url: &str,
    failing_since: NaiveDateTime,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let context = json!({
        "endpoint_id": endpoint_id,
        "url": url,
        "failing_since": instant(failing_since),
        "disabled_at": instant(now.naive_utc()),
    });
    to_user(
        conn,
        Template::WebhookDisabled,
        owner,
        &format!("webhook-disabled:{endpoint_id}:{}", instant(failing_since)),
        &context.to_string(),
        now,
    )
}
