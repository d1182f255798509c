//! Reconciliation: `crowdfund reconcile` and `GET /api/v1/admin/reconciliation`. The payment
//! provider's records (its charges under our keys, and their refunds) are compared with the
//! charge attempts and the ledger, and every difference is named with its ids. The audit
//! (`verify`) proves the books agree with themselves; this proves they agree with the money.
//!
//! An attempt still pending is in flight (settlement or a webhook records it) and is left out.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::reconcile::{self, Attempt};
use crate::db::{Db, DbConn};
use crate::domain::{ChargeStatus, CoreError, PledgeId};
use crate::payments::PaymentProvider;
use crate::payments::records::ProviderRecords;

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// The provider took money that no recorded charge accounts for.
    MissingInLedger,
    /// A recorded charge the provider has no record of taking.
    MissingAtProvider,
    /// Both sides have the charge, for different amounts or currencies.
    AmountMismatch,
    /// The provider and the attempt disagree on whether it succeeded.
    StatusMismatch,
    /// The provider refunded another amount of the charge than the ledger gave back.
    RefundMismatch,
}

/// One difference between the provider and the books.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Difference {
    pub kind: DifferenceKind,
    /// The provider's charge (PaymentIntent) id, when the provider has it.
    #[schema(example = "ch_sandbox_12")]
    pub provider_id: Option<String>,
    #[schema(example = "pledge-17-attempt-1")]
    pub idempotency_key: String,
    pub pledge_id: Option<i64>,
    pub detail: String,
}

/// What a reconciliation found; `ok` when `differences` is empty.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reconciliation {
    pub ok: bool,
    /// `sandbox` or `stripe`.
    pub provider: &'static str,
    /// Only charges made from then on were compared (all without it).
    pub since: Option<DateTime<Utc>>,
    pub charges_checked: usize,
    pub refunds_checked: usize,
    pub differences: Vec<Difference>,
}

/// Our side, as read from the database.
pub struct Books {
    pub attempts: HashMap<String, Attempt>,
    /// What each charge posting took, by reference (`charge:{key}`).
    pub charged: HashMap<String, i64>,
    pub refunded: HashMap<PledgeId, i64>,
}

impl Books {
    pub fn read(conn: &mut DbConn) -> Result<Self, CoreError> {
        Ok(Self {
            attempts: reconcile::attempts(conn)?,
            charged: reconcile::charged(conn)?,
            refunded: reconcile::refunded(conn)?,
        })
    }
}

/// The provider's records against the books. `since` leaves out what the provider's side
/// leaves out: attempts made before it (each is made before its charge).
pub fn compare(
    provider: &'static str,
    records: &ProviderRecords,
    books: &Books,
    since: Option<NaiveDateTime>,
) -> Reconciliation {
    let mut differences = Vec::new();
    let mut taken: HashSet<&str> = HashSet::new();
    for charge in &records.charges {
        let found = books.attempts.get(&charge.key);
        let mut differ = |kind, detail: String| {
            differences.push(Difference {
                kind,
                provider_id: Some(charge.id.clone()),
                idempotency_key: charge.key.clone(),
                pledge_id: found.map(|a| a.pledge_id.0),
                detail,
            });
        };
        let Some(attempt) = found else {
            if charge.succeeded {
                differ(
                    DifferenceKind::MissingInLedger,
                    "charged at the provider under a key no attempt has".into(),
                );
            }
            continue;
        };
        let recorded_here = attempt.provider_charge_id.as_deref() == Some(charge.id.as_str());
        match (attempt.status, charge.succeeded) {
            (ChargeStatus::Pending, _) => {}
            (ChargeStatus::Succeeded, true) if !recorded_here => differ(
                DifferenceKind::MissingInLedger,
                format!(
                    "a second charge under the key of an attempt recorded as {}",
                    attempt.provider_charge_id.as_deref().unwrap_or("-")
                ),
            ),
            (ChargeStatus::Succeeded, true) => {
                taken.insert(charge.id.as_str());
                let booked = books.charged.get(&format!("charge:{}", charge.key)).copied();
                if charge.amount_minor != attempt.amount_minor || charge.currency != attempt.currency.code() {
                    differ(
                        DifferenceKind::AmountMismatch,
                        format!(
                            "the provider charged {} {}, the attempt was for {} {}",
                            charge.amount_minor,
                            charge.currency,
                            attempt.amount_minor,
                            attempt.currency.code()
                        ),
                    );
                } else if booked != Some(charge.amount_minor) {
                    differ(
                        DifferenceKind::AmountMismatch,
                        format!(
                            "the provider charged {}, the ledger's charge posting has {}",
                            charge.amount_minor,
                            booked.map_or("none".to_owned(), |b| b.to_string())
                        ),
                    );
                }
                let given_back = books.refunded.get(&attempt.pledge_id).copied().unwrap_or(0);
                if charge.refunded_minor != given_back {
                    differ(
                        DifferenceKind::RefundMismatch,
                        format!(
                            "the provider refunded {}, the ledger gave back {given_back}",
                            charge.refunded_minor
                        ),
                    );
                }
            }
            (ChargeStatus::Failed, true) => differ(
                DifferenceKind::StatusMismatch,
                "succeeded at the provider, recorded as declined".into(),
            ),
            (ChargeStatus::Succeeded, false) if recorded_here => differ(
                DifferenceKind::StatusMismatch,
                "recorded as succeeded, not succeeded at the provider".into(),
            ),
            (_, false) => {}
        }
    }
    for attempt in books.attempts.values() {
        let in_range = since.is_none_or(|since| attempt.created_at >= since);
        let Some(id) = attempt.provider_charge_id.as_deref() else {
            continue;
        };
        if attempt.status == ChargeStatus::Succeeded && in_range && !taken.contains(id) {
            let reported = records.charges.iter().any(|c| c.id == id);
            if !reported {
                differences.push(Difference {
                    kind: DifferenceKind::MissingAtProvider,
                    provider_id: Some(id.to_owned()),
                    idempotency_key: attempt.idempotency_key.clone(),
                    pledge_id: Some(attempt.pledge_id.0),
                    detail: "recorded as charged; the provider reports no such charge".into(),
                });
            }
        }
    }
    differences.sort_by(|a, b| (a.pledge_id, &a.idempotency_key).cmp(&(b.pledge_id, &b.idempotency_key)));
    Reconciliation {
        ok: differences.is_empty(),
        provider,
        since: since.map(|t| t.and_utc()),
        charges_checked: records.charges.len(),
        refunds_checked: records.refunds,
        differences,
    }
}

/// A `since` as sent: a UTC date (from its midnight) or an RFC 3339 instant.
pub fn parse_since(raw: &str) -> Result<NaiveDateTime, String> {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN));
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.naive_utc())
        .map_err(|_| "must be a date (2026-12-01) or an RFC 3339 instant".to_owned())
}

/// Reads the provider's records, then the books (no connection is held while the provider
/// answers), and compares them. Blocking: run it on the blocking pool.
pub fn run(
    db: &Db,
    provider: &dyn PaymentProvider,
    since: Option<NaiveDateTime>,
) -> Result<Reconciliation, CoreError> {
    let records = provider
        .records(since)
        .map_err(|e| CoreError::Unavailable(e.context("reading the provider's records")))?;
    let books = Books::read(&mut *db.get_blocking()?)?;
    Ok(compare(provider.name(), &records, &books, since))
}
