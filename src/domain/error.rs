//! The core's errors. A rule that says no returns a [`Refusal`]; anything that goes wrong
//! underneath it (the database, a dependency, a bug) is a [`CoreError`] carrying its cause.
//! Only the HTTP layer (`http::error`) turns either into a status.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind};
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field: a JSON path into the request (`tiers[0].title`) or a parameter name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Collects every invalid field of a request so that one refusal names them all.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// The value if `result` is valid; otherwise records the error under `field`.
    pub fn check<T, M: Into<String>>(&mut self, field: &str, result: Result<T, M>) -> Option<T> {
        result
            .map_err(|message| self.0.push(FieldError::new(field, message)))
            .ok()
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// How many errors were recorded so far.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names of the invalid fields, in the order they were found.
    pub fn fields(&self) -> Vec<String> {
        self.0.iter().map(|e| e.field.clone()).collect()
    }

    /// `Ok(())` when every check passed, else the refusal naming each field.
    pub fn finish(self) -> Result<(), Refusal> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Refusal::Invalid(self.0))
        }
    }
}

/// What a conditional write found changed by someone else first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Campaign,
    Tier,
    Addon,
    Pledge,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Campaign => "campaign",
            Self::Tier => "tier",
            Self::Addon => "add-on",
            Self::Pledge => "pledge",
        }
    }
}

/// A rule's "no", with what the caller needs to know to do better.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Absent, or not visible to the actor.
    #[error("not found")]
    NotFound,
    /// A field names something that does not exist or is not visible to the actor (a reward
    /// tier of another campaign, or a secret one without its token): 404, saying which field.
    #[error("not found: {0:?}")]
    Unknown(FieldError),
    /// Visible, but the actor may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The current state forbids it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Someone changed the row between the read and the conditional write: reload and retry.
    #[error("the {} changed meanwhile", .0.as_str())]
    Stale(Resource),
    /// The resource already exists; `existing` is where.
    #[error("conflict: {detail}")]
    Duplicate { detail: String, existing: String },
    /// The input is invalid; each field says why.
    #[error("invalid: {0:?}")]
    Invalid(Vec<FieldError>),
    /// Not now: the same request is allowed again after this many seconds.
    #[error("too soon: {reason}")]
    TooSoon { reason: String, retry_after_secs: u64 },
    /// The content is not of a kind this accepts (an upload that is not an image it takes).
    #[error("unsupported content: {0}")]
    Unsupported(String),
    /// The content is larger than this accepts.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The payment provider declined a charge made at once (a late pledge); `code` is its
    /// reason, `pledge` where the pledge it dropped is.
    #[error("declined: {code}")]
    Declined { code: String, pledge: String },
}

impl Refusal {
    /// One invalid field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn conflict(reason: impl Into<String>) -> Self {
        Self::Conflict(reason.into())
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::Forbidden(reason.into())
    }

    /// Allowed again `wait` from now (at least a second).
    pub fn too_soon(reason: impl Into<String>, wait: chrono::Duration) -> Self {
        Self::TooSoon {
            reason: reason.into(),
            retry_after_secs: u64::try_from(wait.num_seconds()).unwrap_or(0).max(1),
        }
    }
}

/// Anything a rule, a query or a dependency can end with.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Something the request needs cannot be reached now (the database pool, the payment
    /// provider): the same request may succeed if retried.
    #[error("unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    /// The database failed in a way no rule expects.
    #[error("database: {0}")]
    Database(#[source] diesel::result::Error),
    /// A bug, or a stored value that breaks an invariant.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl CoreError {
    /// The refusal, if this is one.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Self::Refused(refusal) => Some(refusal),
            _ => None,
        }
    }

    /// A stored value that cannot be what it is, or an invariant the code broke.
    pub fn unexpected(message: impl std::fmt::Display) -> Self {
        Self::Unexpected(anyhow::anyhow!("{message}"))
    }
}

/// A missing row is a refusal (not found); a unique or foreign-key violation is a conflict
/// naming what collided; every other database error keeps its cause.
impl From<diesel::result::Error> for CoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::Error;
        match e {
            Error::NotFound => Refusal::NotFound.into(),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                Refusal::Conflict(match taken_fields(info.as_ref()) {
                    Some(fields) => format!("another record already has this {fields}"),
                    None => "conflicts with an existing record".into(),
                })
                .into()
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                Refusal::conflict("other records still refer to it").into()
            }
            other => Self::Database(other),
        }
    }
}

/// The columns a unique violation is about, never their values: PostgreSQL details it as
/// `Key (email)=(…) already exists.`, SQLite as `UNIQUE constraint failed: users.email`.
fn taken_fields(info: &dyn DatabaseErrorInformation) -> Option<String> {
    let postgres = info
        .details()
        .and_then(|d| d.strip_prefix("Key ("))
        .and_then(|d| d.split_once(")="))
        .map(|(columns, _)| columns.to_owned());
    let sqlite = || {
        let columns = info.message().strip_prefix("UNIQUE constraint failed: ")?;
        Some(
            columns
                .split(", ")
                .map(|c| c.rsplit('.').next().unwrap_or(c))
                .collect::<Vec<_>>()
                .join(", "),
        )
    };
    postgres.or_else(sqlite).filter(|f| !f.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Info {
        message: &'static str,
        details: Option<&'static str>,
    }

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.message
        }
        fn details(&self) -> Option<&str> {
            self.details
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            Some("users_email_key")
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn unique(message: &'static str, details: Option<&'static str>) -> CoreError {
        diesel::result::Error::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new(Info { message, details }),
        )
        .into()
    }

    #[test]
    fn a_unique_violation_names_the_field_not_the_constraint_or_the_value() {
        let pg = unique(
            "duplicate key value violates unique constraint \"users_email_key\"",
            Some("Key (email)=(ana@example.com) already exists."),
        );
        let sqlite = unique("UNIQUE constraint failed: users.email", None);
        for e in [pg, sqlite] {
            let Some(Refusal::Conflict(reason)) = e.refusal() else {
                panic!("{e:?}");
            };
            assert_eq!(reason, "another record already has this email");
        }
        let pair = unique(
            "UNIQUE constraint failed: pledges.campaign_id, pledges.backer_id",
            None,
        );
        assert_eq!(
            pair.refusal(),
            Some(&Refusal::conflict(
                "another record already has this campaign_id, backer_id"
            ))
        );
    }

    #[test]
    fn not_found_is_a_refusal_and_other_errors_keep_their_cause() {
        assert_eq!(
            CoreError::from(diesel::result::Error::NotFound).refusal(),
            Some(&Refusal::NotFound)
        );
        let e = CoreError::from(diesel::result::Error::BrokenTransactionManager);
        assert!(matches!(e, CoreError::Database(_)));
        assert!(std::error::Error::source(&e).is_some());
    }
}
