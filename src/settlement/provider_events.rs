//! What the payment provider reports on its own (Stripe's webhooks), and its effect on our
//! records. The route checks the signature and answers; this decides. Each event is applied
//! once, by its id, in the same transaction as its effect:
//!
//! - `payment_intent.succeeded`, `payment_intent.payment_failed`: a charge attempt still
//!   pending (the process died before recording the provider's answer) is settled by replaying
//!   its idempotency key, exactly as the next settlement pass would; an attempt already
//!   recorded is left alone.
//! - `charge.refunded`: a full refund made outside the API (the provider's dashboard) refunds
//!   the pledge, as `POST /pledges/{id}/refund` does; a partial one is logged, not reflected.
//! - `charge.dispute.created`: logged on the pledge's event log.
//!
//! An event about a charge whose attempt is still being recorded is refused as a conflict, so
//! the provider delivers it again later: the result is the same whatever the order of arrival.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Config, record_outcome};
use crate::clock::Clock;
use crate::db::charge_attempts::{self, FoundAttempt};
use crate::db::pledges::{self, NewPledgeEvent};
use crate::db::{Db, DbConn, campaigns, stripe as stripe_db};
use crate::domain::{ChargeStatus, CoreError, Money, PledgeStatus, Refusal};
use crate::payments::{ChargeRequest, FirstCall, PaymentProvider, charge_as_first};

/// A provider event, as far as we read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub kind: String,
    pub about: About,
}

/// What the event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    /// `payment_intent.succeeded` or `payment_intent.payment_failed`.
    PaymentIntent(Metadata),
    /// `charge.refunded`.
    Refund(Charge),
    /// `charge.dispute.created`.
    Dispute(Dispute),
    /// Anything else: acknowledged and ignored.
    Other,
}

/// Our own fields on the provider's object: the charge attempt it was made for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Metadata {
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Charge {
    pub payment_intent: Option<String>,
    pub amount: Option<i64>,
    pub amount_refunded: Option<i64>,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Dispute {
    pub payment_intent: Option<String>,
    pub reason: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
}

#[derive(Deserialize)]
struct Envelope {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    data: Data,
}

#[derive(Default, Deserialize)]
struct Data {
    #[serde(default)]
    object: serde_json::Value,
}

#[derive(Deserialize)]
struct Intent {
    #[serde(default)]
    metadata: Metadata,
}

impl Event {
    /// Reads an event from the (verified) body; the error says what is wrong with it.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let envelope: Envelope = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        let (Some(id), Some(kind)) = (envelope.id, envelope.kind) else {
            return Err("not a Stripe event (no id or type)".into());
        };
        // An object of the wrong shape is not one of ours: ignored, as an unknown kind is.
        let object = envelope.data.object;
        let about = match kind.as_str() {
            "payment_intent.succeeded" | "payment_intent.payment_failed" => {
                serde_json::from_value::<Intent>(object)
                    .map_or(About::Other, |i| About::PaymentIntent(i.metadata))
            }
            "charge.refunded" => serde_json::from_value(object).map_or(About::Other, About::Refund),
            "charge.dispute.created" => serde_json::from_value(object).map_or(About::Other, About::Dispute),
            _ => About::Other,
        };
        Ok(Self { id, kind, about })
    }
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Applied,
    /// Applied before (by its id).
    Duplicate,
    /// Not about our charges.
    Ignored,
}

impl Applied {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
        }
    }
}

/// Applies an event once.
pub async fn apply(
    db: &Db,
    provider: Arc<dyn PaymentProvider>,
    clock: &Clock,
    fees: &Config,
    event: Event,
) -> Result<Applied, CoreError> {
    let Event { id, kind, about } = event;
    let now = clock.now();
    match about {
        About::PaymentIntent(metadata) => {
            payment_intent(db, provider, now, fees.clone(), id, kind, metadata).await
        }
        About::Refund(charge) => {
            let (intent, key) = (
                charge.payment_intent.clone(),
                charge.metadata.idempotency_key.clone(),
            );
            charge_event(db, now, id, kind, intent, key, ChargeEffect::Refund(charge)).await
        }
        About::Dispute(dispute) => {
            let (intent, key) = (
                dispute.payment_intent.clone(),
                dispute.metadata.idempotency_key.clone(),
            );
            charge_event(db, now, id, kind, intent, key, ChargeEffect::Dispute(dispute)).await
        }
        About::Other => Ok(Applied::Ignored),
    }
}

/// Settles a pending attempt by replaying its key (no second charge: the provider answers with
/// the first charge), then records the outcome and the event together.
async fn payment_intent(
    db: &Db,
    provider: Arc<dyn PaymentProvider>,
    now: DateTime<Utc>,
    fees: Config,
    id: String,
    kind: String,
    metadata: Metadata,
) -> Result<Applied, CoreError> {
    let Some(key) = metadata.idempotency_key else {
        return Ok(Applied::Ignored);
    };
    let Some(found) = db
        .run(move |conn| Ok::<_, CoreError>(charge_attempts::by_key(conn, &key)?))
        .await?
    else {
        return Ok(Applied::Ignored);
    };
    if found.status != ChargeStatus::Pending {
        let applied = db
            .run(move |conn| {
                Ok::<_, CoreError>(stripe_db::remember_event(conn, &id, &kind, now.naive_utc())?)
            })
            .await?;
        return Ok(if applied {
            Applied::Applied
        } else {
            Applied::Duplicate
        });
    }
    let attempt = found.row.clone();
    let pledge_id = found.pledge_id;
    let late = db
        .run(move |conn| Ok::<_, CoreError>(pledges::find(conn, pledge_id)?.is_some_and(|p| p.late)))
        .await?;
    let outcome = tokio::task::spawn_blocking(move || {
        let request = ChargeRequest {
            idempotency_key: &attempt.idempotency_key,
            payment_method: &attempt.payment_method,
            amount: Money::from_minor(attempt.amount_minor, attempt.currency),
        };
        let first = if late {
            FirstCall::OnSession {
                awaiting: attempt.provider_charge_id.as_deref(),
            }
        } else {
            FirstCall::OffSession
        };
        charge_as_first(provider.as_ref(), &request, first)
    })
    .await
    .map_err(|e| CoreError::Unexpected(e.into()))?
    .map_err(|e| CoreError::Unavailable(e.context("replaying the charge at the provider")))?;
    db.write(move |conn| {
        if !stripe_db::remember_event(conn, &id, &kind, now.naive_utc())? {
            return Ok(Applied::Duplicate);
        }
        let pledge = pledges::find(conn, found.pledge_id)?.ok_or(Refusal::NotFound)?;
        let campaign = campaigns::find(conn, pledge.campaign_id)?.ok_or(Refusal::NotFound)?;
        record_outcome(conn, &campaign, &pledge, &found.row, &outcome, &fees, now)?;
        Ok(Applied::Applied)
    })
    .await
}

enum ChargeEffect {
    Refund(Charge),
    Dispute(Dispute),
}

/// A charge event, found by the PaymentIntent it belongs to.
async fn charge_event(
    db: &Db,
    now: DateTime<Utc>,
    id: String,
    kind: String,
    intent: Option<String>,
    key: Option<String>,
    effect: ChargeEffect,
) -> Result<Applied, CoreError> {
    let Some(intent) = intent else {
        return Ok(Applied::Ignored);
    };
    db.write(move |conn| {
        let Some(found) = our_attempt(conn, &intent, key.as_deref())? else {
            return Ok(Applied::Ignored);
        };
        if !stripe_db::remember_event(conn, &id, &kind, now.naive_utc())? {
            return Ok(Applied::Duplicate);
        }
        let pledge = pledges::find(conn, found.pledge_id)?.ok_or(Refusal::NotFound)?;
        let campaign = campaigns::find(conn, pledge.campaign_id)?.ok_or(Refusal::NotFound)?;
        match effect {
            ChargeEffect::Refund(charge) => {
                let full = charge.amount.is_some() && charge.amount_refunded >= charge.amount;
                if !full {
                    tracing::warn!(pledge.id = %pledge.id, "partial refund made at the provider; not reflected");
                    return Ok(Applied::Ignored);
                }
                if pledge.status == PledgeStatus::Collected {
                    crate::pledges::refund::record(conn, &campaign, pledge.id, None, now)?;
                }
            }
            ChargeEffect::Dispute(dispute) => {
                let reason = dispute.reason.as_deref().unwrap_or("unspecified");
                tracing::warn!(pledge.id = %pledge.id, reason, "a backer disputed a charge");
                pledges::append_event(
                    conn,
                    &NewPledgeEvent {
                        pledge_id: pledge.id,
                        actor_id: None,
                        from_status: Some(pledge.status),
                        to_status: pledge.status,
                        reason: &format!("dispute opened at Stripe: {reason}"),
                        amount_minor: pledge.amount_minor,
                        tier_id: pledge.tier_id,
                        created_at: now.naive_utc(),
                        addons: None,
                    },
                )?;
            }
        }
        Ok(Applied::Applied)
    })
    .await
}

/// The attempt a charge belongs to: recorded under the provider's charge, or not recorded yet
/// but carrying one of our keys (then still being recorded: a conflict, delivered again later).
fn our_attempt(
    conn: &mut DbConn,
    intent: &str,
    key: Option<&str>,
) -> Result<Option<FoundAttempt>, CoreError> {
    if let Some(found) = charge_attempts::by_provider_charge(conn, intent)? {
        return Ok(Some(found));
    }
    let Some(key) = key else {
        return Ok(None);
    };
    match charge_attempts::by_key(conn, key)? {
        Some(found) if found.status == ChargeStatus::Pending => {
            Err(Refusal::conflict("the charge is still being recorded; deliver the event again later").into())
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_events_it_knows_and_ignores_the_rest() {
        let refund = br#"{"id":"evt_1","type":"charge.refunded","data":{"object":
            {"payment_intent":"pi_1","amount":2500,"amount_refunded":2500,"metadata":{"idempotency_key":"pledge-1-attempt-1"}}}}"#;
        let event = Event::parse(refund).unwrap();
        assert_eq!(
            event.about,
            About::Refund(Charge {
                payment_intent: Some("pi_1".into()),
                amount: Some(2500),
                amount_refunded: Some(2500),
                metadata: Metadata {
                    idempotency_key: Some("pledge-1-attempt-1".into())
                },
            })
        );
        let other =
            Event::parse(br#"{"id":"evt_2","type":"customer.created","data":{"object":{}}}"#).unwrap();
        assert_eq!(other.about, About::Other);
        let odd = Event::parse(br#"{"id":"evt_3","type":"charge.refunded","data":{"object":[1]}}"#).unwrap();
        assert_eq!(odd.about, About::Other);
        assert!(Event::parse(br#"{"type":"charge.refunded"}"#).is_err());
        assert!(Event::parse(b"nope").is_err());
    }
}
