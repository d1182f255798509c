//! The sandbox provider (the default): deterministic, no network, its charges kept in its own
//! tables (`sandbox_charges`, `sandbox_refunds`) as a real provider would keep them.
//!
//! Test payment methods, modelled on Stripe's test cards:
//!
//! | method | saving it | charging it |
//! |---|---|---|
//! | `pm_card_visa` | accepted | succeeds |
//! | `pm_card_chargeDeclined` | accepted | fails: `card_declined` |
//! | `pm_card_chargeDeclinedInsufficientFunds` | accepted | fails: `insufficient_funds` |
//! | `pm_card_authenticationRequired` | accepted | fails: `authentication_required` |
//! | anything else | rejected (422) | — |
//!
//! Processing fee on a successful charge: 2.9 % of the amount plus 0.30 of the currency, each
//! rounded half-even to the minor unit (so JPY pays 2.9 % and no fixed part).
//!
//! Idempotency keys work as Stripe's do: a key seen before returns the recorded outcome without
//! charging again; the same key with another amount or method is an error.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use super::records::{ProviderCharge, ProviderRecords, is_ours};
use super::{
    ChargeOutcome, ChargeRequest, PaymentProvider, RefundOutcome, RefundRequest, SaveError, SavedMethod,
};
use crate::clock::Clock;
use crate::db::schema::{sandbox_charges, sandbox_refunds};
use crate::db::{Db, DbConn, on_backend, write_transaction};
use crate::domain::money::basis_points_half_even;
use crate::domain::{ChargeStatus, Currency, UserId};

pub const METHODS: [(&str, Option<&str>); 4] = [
    ("pm_card_visa", None),
    ("pm_card_chargeDeclined", Some("card_declined")),
    (
        "pm_card_chargeDeclinedInsufficientFunds",
        Some("insufficient_funds"),
    ),
    ("pm_card_authenticationRequired", Some("authentication_required")),
];

pub const FEE_BPS: i64 = 290;

pub struct Sandbox {
    db: Db,
    clock: Clock,
}

impl Sandbox {
    pub fn new(db: Db, clock: Clock) -> Self {
        Self { db, clock }
    }

    /// 2.9 % + 0.30 major units, each rounded half-even.
    pub fn fee(amount: crate::domain::Money) -> i64 {
        let fixed = basis_points_half_even(amount.currency().minor_per_major(), 3_000);
        basis_points_half_even(amount.minor(), FEE_BPS) + fixed
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut DbConn) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let mut conn = self.db.get_blocking()?;
        f(&mut conn)
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = sandbox_charges)]
struct ChargeRecord {
    id: i64,
    payment_method: String,
    amount_minor: i64,
    currency: Currency,
    status: ChargeStatus,
    failure_code: Option<String>,
    fee_minor: i64,
}

/// The charges already made under these keys, by key.
fn find_charges(conn: &mut DbConn, keys: &[&str]) -> QueryResult<HashMap<String, ChargeRecord>> {
    let rows: Vec<(String, ChargeRecord)> = sandbox_charges::table
        .filter(sandbox_charges::idempotency_key.eq_any(keys))
        .select((sandbox_charges::idempotency_key, ChargeRecord::as_select()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

#[derive(Insertable)]
#[diesel(table_name = sandbox_charges)]
struct NewCharge<'a> {
    idempotency_key: &'a str,
    payment_method: &'a str,
    amount_minor: i64,
    currency: Currency,
    status: ChargeStatus,
    failure_code: Option<&'static str>,
    fee_minor: i64,
    created_at: chrono::NaiveDateTime,
}

impl<'a> NewCharge<'a> {
    /// What the card does: its row in [`METHODS`]; an unknown method is declined.
    fn decide(request: &ChargeRequest<'a>, now: chrono::NaiveDateTime) -> Self {
        let failure = METHODS
            .iter()
            .find(|(method, _)| *method == request.payment_method)
            .map_or(Some("card_declined"), |(_, failure)| *failure);
        Self {
            idempotency_key: request.idempotency_key,
            payment_method: request.payment_method,
            amount_minor: request.amount.minor(),
            currency: request.amount.currency(),
            status: if failure.is_none() {
                ChargeStatus::Succeeded
            } else {
                ChargeStatus::Failed
            },
            failure_code: failure,
            fee_minor: if failure.is_none() {
                Sandbox::fee(request.amount)
            } else {
                0
            },
            created_at: now,
        }
    }
}

fn outcome(record: &ChargeRecord) -> ChargeOutcome {
    match record.status {
        ChargeStatus::Succeeded => ChargeOutcome::Succeeded {
            charge_id: format!("ch_sandbox_{}", record.id),
            fee_minor: record.fee_minor,
        },
        _ => ChargeOutcome::Failed {
            code: record
                .failure_code
                .clone()
                .unwrap_or_else(|| "card_declined".into()),
        },
    }
}

/// A charge row as reconciliation reads it: id, key, amount, currency, status, refunded.
type ChargeLine = (i64, String, i64, Currency, ChargeStatus, i64);

impl PaymentProvider for Sandbox {
    fn records(&self, since: Option<chrono::NaiveDateTime>) -> anyhow::Result<ProviderRecords> {
        self.with_conn(|conn| {
            let mut charges = sandbox_charges::table.into_boxed();
            let mut refunds = sandbox_refunds::table.into_boxed();
            if let Some(since) = since {
                charges = charges.filter(sandbox_charges::created_at.ge(since));
                refunds = refunds.filter(sandbox_refunds::created_at.ge(since));
            }
            let rows: Vec<ChargeLine> = charges
                .order(sandbox_charges::id)
                .select((
                    sandbox_charges::id,
                    sandbox_charges::idempotency_key,
                    sandbox_charges::amount_minor,
                    sandbox_charges::currency,
                    sandbox_charges::status,
                    sandbox_charges::refunded_minor,
                ))
                .load(conn)?;
            let refunds: i64 = refunds.count().get_result(conn)?;
            Ok(ProviderRecords {
                charges: rows
                    .into_iter()
                    .filter(|(_, key, ..)| is_ours(key))
                    .map(
                        |(id, key, amount_minor, currency, status, refunded_minor)| ProviderCharge {
                            id: format!("ch_sandbox_{id}"),
                            key,
                            amount_minor,
                            currency: currency.code().to_owned(),
                            succeeded: status == ChargeStatus::Succeeded,
                            refunded_minor,
                        },
                    )
                    .collect(),
                refunds: usize::try_from(refunds)?,
            })
        })
    }

    fn name(&self) -> &'static str {
        "sandbox"
    }

    /// The test methods are a fixed list: nothing to look up.
    fn saves_without_io(&self) -> bool {
        true
    }

    fn save_payment_method(&self, _backer: UserId, token: &str) -> Result<SavedMethod, SaveError> {
        if METHODS.iter().any(|(method, _)| *method == token) {
            Ok(SavedMethod {
                reference: token.to_owned(),
                client_secret: None,
            })
        } else {
            Err(SaveError::Rejected(
                "is not a sandbox test payment method (pm_card_visa, pm_card_chargeDeclined, \
                 pm_card_chargeDeclinedInsufficientFunds, pm_card_authenticationRequired)"
                    .into(),
            ))
        }
    }

    fn charge(&self, request: &ChargeRequest<'_>) -> anyhow::Result<ChargeOutcome> {
        self.charge_many(std::slice::from_ref(request))
            .pop()
            .unwrap_or_else(|| Err(anyhow::anyhow!("no answer")))
    }

    /// All in one transaction of three statements: look the keys up, record the new charges,
    /// answer each from its record. A key seen before answers its first outcome; the same key
    /// with another amount, currency or method is an error for that charge alone.
    fn charge_many(&self, requests: &[ChargeRequest<'_>]) -> Vec<anyhow::Result<ChargeOutcome>> {
        let now = self.clock.now().naive_utc();
        let records = self.with_conn(|conn| {
            write_transaction(conn, |conn| {
                let keys: Vec<&str> = requests.iter().map(|r| r.idempotency_key).collect();
                let mut records = find_charges(conn, &keys)?;
                let mut seen = HashSet::new();
                let new: Vec<NewCharge<'_>> = requests
                    .iter()
                    .filter(|r| !records.contains_key(r.idempotency_key) && seen.insert(r.idempotency_key))
                    .map(|r| NewCharge::decide(r, now))
                    .collect();
                if !new.is_empty() {
                    let inserted: Vec<(String, ChargeRecord)> =
                        on_backend!(conn, |c| diesel::insert_into(sandbox_charges::table)
                            .values(&new)
                            .returning((sandbox_charges::idempotency_key, ChargeRecord::as_select()))
                            .get_results(c))?;
                    records.extend(inserted);
                }
                Ok::<_, anyhow::Error>(records)
            })
        });
        let records = match records {
            Ok(records) => records,
            Err(e) => return requests.iter().map(|_| Err(anyhow::anyhow!("{e:#}"))).collect(),
        };
        requests
            .iter()
            .map(|request| {
                let record = records
                    .get(request.idempotency_key)
                    .ok_or_else(|| anyhow::anyhow!("charge {} vanished", request.idempotency_key))?;
                let same = record.payment_method == request.payment_method
                    && record.amount_minor == request.amount.minor()
                    && record.currency == request.amount.currency();
                anyhow::ensure!(
                    same,
                    "idempotency key {} was used with other parameters",
                    request.idempotency_key
                );
                Ok(outcome(record))
            })
            .collect()
    }

    fn refund(&self, request: &RefundRequest<'_>) -> anyhow::Result<RefundOutcome> {
        let now = self.clock.now().naive_utc();
        let charge_id: i64 = request
            .charge_id
            .strip_prefix("ch_sandbox_")
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("unknown charge {}", request.charge_id))?;
        self.with_conn(|conn| {
            write_transaction(conn, |conn| {
                // The charge's row lock first: a concurrent refund of it waits here, then sees
                // the refund made under its key (PostgreSQL reads each statement afresh) and
                // replays it, as the real provider does, instead of failing on the amount.
                diesel::update(sandbox_charges::table.find(charge_id))
                    .set(sandbox_charges::refunded_minor.eq(sandbox_charges::refunded_minor))
                    .execute(conn)?;
                let existing: Option<(i64, i64, i64)> = sandbox_refunds::table
                    .filter(sandbox_refunds::idempotency_key.eq(request.idempotency_key))
                    .select((
                        sandbox_refunds::id,
                        sandbox_refunds::charge_id,
                        sandbox_refunds::amount_minor,
                    ))
                    .get_result(conn)
                    .optional()?;
                if let Some((id, charge, amount)) = existing {
                    anyhow::ensure!(
                        charge == charge_id && amount == request.amount.minor(),
                        "idempotency key {} was used with other parameters",
                        request.idempotency_key
                    );
                    return Ok(RefundOutcome {
                        refund_id: format!("re_sandbox_{id}"),
                    });
                }
                let updated = diesel::update(
                    sandbox_charges::table
                        .find(charge_id)
                        .filter(sandbox_charges::status.eq("succeeded"))
                        .filter(
                            sandbox_charges::amount_minor
                                .ge(sandbox_charges::refunded_minor + request.amount.minor()),
                        ),
                )
                .set(
                    sandbox_charges::refunded_minor
                        .eq(sandbox_charges::refunded_minor + request.amount.minor()),
                )
                .execute(conn)?;
                anyhow::ensure!(
                    updated == 1,
                    "charge {} cannot be refunded by that amount",
                    request.charge_id
                );
                let id: i64 = diesel::insert_into(sandbox_refunds::table)
                    .values((
                        sandbox_refunds::idempotency_key.eq(request.idempotency_key),
                        sandbox_refunds::charge_id.eq(charge_id),
                        sandbox_refunds::amount_minor.eq(request.amount.minor()),
                        sandbox_refunds::created_at.eq(now),
                    ))
                    .returning(sandbox_refunds::id)
                    .get_result(conn)?;
                Ok(RefundOutcome {
                    refund_id: format!("re_sandbox_{id}"),
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Currency, Money};

    #[test]
    fn fee_is_2_9_percent_plus_30_cents() {
        assert_eq!(Sandbox::fee(Money::from_minor(10_000, Currency::USD)), 290 + 30);
        assert_eq!(
            Sandbox::fee(Money::from_minor(2_500, Currency::EUR)),
            72 + 30,
            "72.5 rounds to even"
        );
        assert_eq!(
            Sandbox::fee(Money::from_minor(10_000, Currency::JPY)),
            290,
            "no fixed part in yen"
        );
    }
}
