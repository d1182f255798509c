//! The Stripe provider (`PAYMENT_PROVIDER=stripe`): Stripe's REST API over HTTPS (reqwest,
//! rustls), form-encoded as Stripe expects.
//!
//! - **Saving** (a pledge, or a new payment method): the web app creates a PaymentMethod with
//!   Stripe.js and sends its id (`pm_…`). We make sure the backer has a Customer (one per backer,
//!   kept in `stripe_customers`), attach the method to it, and create and confirm a SetupIntent
//!   with `usage=off_session`, so the card may be charged when the backer is away. Its client
//!   secret goes back in the pledge response: if the bank wants 3-D Secure, Stripe.js finishes
//!   the set-up with it. The pledge stores `cus_…/pm_…`.
//! - **Charging** (settlement): an off-session PaymentIntent (`confirm=true`,
//!   `off_session=true`) with the attempt's `Idempotency-Key`, so a replayed attempt returns the
//!   first PaymentIntent instead of charging again. The processing fee is read from the charge's
//!   balance transaction. Declines become the pledge's outcome: `authentication_required` (the
//!   backer must act), `insufficient_funds`, `card_declined`, … (errored, retried in 48 hours).
//! - **Charging at once** (a late pledge): an on-session PaymentIntent (`confirm=true`) with the
//!   attempt's key. `requires_action` hands its client secret to the web app, which lets the
//!   backer confirm; the `payment_intent.*` webhook reports the outcome, and a replay of the key
//!   reads the intent as it is now.
//! - **Refunding**: a Refund of the PaymentIntent with the refund's idempotency key.
//! - Network errors and 5xx answers are retried (three tries in all) with the same idempotency
//!   key; 4xx answers are final.

mod api;
mod records;

use anyhow::{anyhow, bail};
use serde_json::Value;

pub use self::api::encode;
use self::api::{Answer, Api};

use super::{
    ChargeOutcome, ChargeRequest, OnSession, PaymentProvider, RefundOutcome, RefundRequest, SaveError,
    SavedMethod,
};
use crate::clock::Clock;
use crate::config::StripeSettings;
use crate::db::{Db, stripe as stripe_db};
use crate::domain::UserId;

pub struct Stripe {
    db: Db,
    clock: Clock,
    api: Api,
}

impl Stripe {
    pub fn new(db: Db, clock: Clock, settings: StripeSettings) -> Self {
        Self {
            db,
            clock,
            api: Api::new(settings),
        }
    }

    /// The backer's Customer, created at their first pledge.
    fn customer_for(&self, backer_id: UserId) -> anyhow::Result<String> {
        // No pooled connection is held while Stripe answers.
        let (customer, user) = {
            let mut conn = self.db.get_blocking()?;
            (
                stripe_db::customer_of(&mut conn, backer_id)?,
                crate::db::users::find(&mut conn, backer_id)?,
            )
        };
        if let Some(customer) = customer {
            return Ok(customer);
        }
        let user = user.ok_or_else(|| anyhow!("backer {backer_id} does not exist"))?;
        let user_id = backer_id.to_string();
        let created = self.api.post(
            "/v1/customers",
            &[
                ("email", &user.email),
                ("name", &user.display_name),
                ("metadata[user_id]", &user_id),
            ],
            Some(&format!("customer-user-{backer_id}")),
        )?;
        if !created.ok() {
            bail!("creating a Stripe customer: {}", created.error_message());
        }
        let now = self.clock.now().naive_utc();
        let mut conn = self.db.get_blocking()?;
        Ok(stripe_db::save_customer(
            &mut conn,
            backer_id,
            &created.id()?,
            now,
        )?)
    }

    /// The fee of a succeeded PaymentIntent, from its charge's balance transaction.
    fn fee_of(&self, intent: &Value) -> anyhow::Result<i64> {
        let charge = match &intent["latest_charge"] {
            Value::Object(_) => intent["latest_charge"].clone(),
            Value::String(id) => {
                self.api
                    .call(reqwest::Method::GET, &format!("/v1/charges/{id}"), &[], None)?
                    .body
            }
            // Older API versions list the charges instead.
            _ => intent["charges"]["data"][0].clone(),
        };
        let transaction = match &charge["balance_transaction"] {
            Value::Object(_) => charge["balance_transaction"].clone(),
            Value::String(id) => {
                self.api
                    .call(
                        reqwest::Method::GET,
                        &format!("/v1/balance_transactions/{id}"),
                        &[],
                        None,
                    )?
                    .body
            }
            _ => bail!("the charge of {} has no balance transaction yet", intent["id"]),
        };
        transaction["fee"]
            .as_i64()
            .ok_or_else(|| anyhow!("balance transaction without a fee: {transaction}"))
    }
}

impl Stripe {
    /// A confirmed PaymentIntent for the attempt, under its key: off session (settlement, the
    /// backer away) or on session (a late pledge, the backer there to confirm).
    fn confirm_intent(&self, request: &ChargeRequest<'_>, off_session: bool) -> anyhow::Result<Answer> {
        let (customer, method) = parse_reference(request.payment_method)?;
        let amount = request.amount.minor().to_string();
        let currency = request.amount.currency().code().to_ascii_lowercase();
        let mut form = vec![
            ("amount", amount.as_str()),
            ("currency", currency.as_str()),
            ("customer", customer),
            ("payment_method", method),
        ];
        if off_session {
            form.push(("off_session", "true"));
        }
        form.push(("confirm", "true"));
        form.push(("metadata[idempotency_key]", request.idempotency_key));
        self.api
            .post("/v1/payment_intents", &form, Some(request.idempotency_key))
    }
}

/// What the pledge stores: the Customer and the PaymentMethod to charge.
fn reference(customer: &str, method: &str) -> String {
    format!("{customer}/{method}")
}

fn parse_reference(reference: &str) -> anyhow::Result<(&str, &str)> {
    reference
        .split_once('/')
        .filter(|(c, m)| c.starts_with("cus_") && m.starts_with("pm_"))
        .ok_or_else(|| anyhow!("{reference:?} is not a Stripe customer/payment method pair"))
}

impl PaymentProvider for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn save_payment_method(&self, backer_id: UserId, token: &str) -> Result<SavedMethod, SaveError> {
        if !token.starts_with("pm_") || token.len() > 255 || token.contains(['/', '?', '#']) {
            return Err(SaveError::Rejected(
                "is not a Stripe PaymentMethod id (pm_…, from Stripe.js)".into(),
            ));
        }
        let customer = self.customer_for(backer_id)?;
        let attached = self.api.post(
            &format!("/v1/payment_methods/{token}/attach"),
            &[("customer", &customer)],
            None,
        )?;
        if !attached.ok() {
            return Err(SaveError::Rejected(attached.error_message()));
        }
        let intent = self.api.post(
            "/v1/setup_intents",
            &[
                ("customer", &customer),
                ("usage", "off_session"),
                ("payment_method_types[]", "card"),
            ],
            None,
        )?;
        if !intent.ok() {
            return Err(SaveError::Provider(anyhow!(
                "creating a SetupIntent: {}",
                intent.error_message()
            )));
        }
        let confirmed = self.api.post(
            &format!("/v1/setup_intents/{}/confirm", intent.id()?),
            &[("payment_method", token)],
            None,
        )?;
        if !confirmed.ok() {
            return Err(SaveError::Rejected(confirmed.error_message()));
        }
        // `requires_action`: saved, and the backer finishes 3-D Secure with the client secret.
        Ok(SavedMethod {
            reference: reference(&customer, token),
            client_secret: confirmed
                .str("client_secret")
                .or(intent.str("client_secret"))
                .map(str::to_owned),
        })
    }

    fn charge(&self, request: &ChargeRequest<'_>) -> anyhow::Result<ChargeOutcome> {
        let answer = self.confirm_intent(request, true)?;
        outcome(&answer, |intent| self.fee_of(intent))
    }

    fn charge_on_session(&self, request: &ChargeRequest<'_>) -> anyhow::Result<OnSession> {
        let answer = self.confirm_intent(request, false)?;
        if answer.ok() && answer.str("status") == Some("requires_action") {
            // A replayed key answers with the first response: the intent as it is now says
            // whether the backer has confirmed it since.
            return self.on_session_status(&answer.id()?);
        }
        outcome(&answer, |intent| self.fee_of(intent)).map(OnSession::Done)
    }

    fn on_session_status(&self, payment_id: &str) -> anyhow::Result<OnSession> {
        let answer = self.api.call(
            reqwest::Method::GET,
            &format!("/v1/payment_intents/{payment_id}"),
            &[],
            None,
        )?;
        if !answer.ok() {
            bail!("reading PaymentIntent {payment_id}: {}", answer.error_message());
        }
        if answer.str("status") == Some("requires_action") {
            let client_secret = answer
                .str("client_secret")
                .ok_or_else(|| anyhow!("PaymentIntent {payment_id} has no client secret"))?;
            return Ok(OnSession::RequiresAction {
                payment_id: payment_id.to_owned(),
                client_secret: client_secret.to_owned(),
            });
        }
        outcome(&answer, |intent| self.fee_of(intent)).map(OnSession::Done)
    }

    fn cancel_on_session(&self, payment_id: &str) -> anyhow::Result<bool> {
        let answer = self
            .api
            .post(&format!("/v1/payment_intents/{payment_id}/cancel"), &[], None)?;
        // 4xx: no longer cancelable, it went through or failed meanwhile.
        Ok(answer.ok())
    }

    fn records(
        &self,
        since: Option<chrono::NaiveDateTime>,
    ) -> anyhow::Result<super::records::ProviderRecords> {
        self.read_records(since)
    }

    fn refund(&self, request: &RefundRequest<'_>) -> anyhow::Result<RefundOutcome> {
        let amount = request.amount.minor().to_string();
        let answer = self.api.post(
            "/v1/refunds",
            &[
                ("payment_intent", request.charge_id),
                ("amount", &amount),
                ("metadata[idempotency_key]", request.idempotency_key),
            ],
            Some(request.idempotency_key),
        )?;
        if !answer.ok() {
            bail!("Stripe refused the refund: {}", answer.error_message());
        }
        Ok(RefundOutcome {
            refund_id: answer.id()?,
        })
    }
}

/// Maps a PaymentIntent answer to the pledge's outcome. An error is an unknown outcome (the
/// attempt stays pending and is replayed with its key).
fn outcome(answer: &Answer, fee: impl Fn(&Value) -> anyhow::Result<i64>) -> anyhow::Result<ChargeOutcome> {
    if answer.ok() {
        return match answer.str("status") {
            Some("succeeded") => Ok(ChargeOutcome::Succeeded {
                charge_id: answer.id()?,
                fee_minor: fee(&answer.body)?,
            }),
            Some("requires_action" | "requires_confirmation") => Ok(ChargeOutcome::Failed {
                code: "authentication_required".into(),
            }),
            Some("requires_payment_method") => Ok(ChargeOutcome::Failed {
                code: answer.body["last_payment_error"]["decline_code"]
                    .as_str()
                    .or(answer.body["last_payment_error"]["code"].as_str())
                    .unwrap_or("card_declined")
                    .to_owned(),
            }),
            other => bail!("PaymentIntent {} is {other:?}; will ask again", answer.body["id"]),
        };
    }
    // 4xx: final. A card error (402) is the backer's to fix; anything else is recorded as the
    // attempt's failure rather than replayed forever.
    Ok(ChargeOutcome::Failed {
        code: answer.error_code(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forms_are_encoded_as_stripe_expects() {
        assert_eq!(
            encode(&[
                ("metadata[idempotency_key]", "pledge-1-attempt-2"),
                ("payment_method_types[]", "card"),
                ("email", "a+b@example.com"),
            ]),
            "metadata%5Bidempotency_key%5D=pledge-1-attempt-2&payment_method_types%5B%5D=card&email=a%2Bb%40example.com"
        );
    }

    #[test]
    fn references_pair_a_customer_with_a_method() {
        assert_eq!(
            parse_reference(&reference("cus_1", "pm_2")).unwrap(),
            ("cus_1", "pm_2")
        );
        assert!(parse_reference("pm_card_visa").is_err());
    }

    fn answer(status: u16, body: Value) -> Answer {
        Answer { status, body }
    }

    #[test]
    fn stripe_answers_become_pledge_outcomes() {
        let fee = |_: &Value| Ok(59);
        let succeeded = answer(200, json!({"id": "pi_1", "status": "succeeded"}));
        assert_eq!(
            outcome(&succeeded, fee).unwrap(),
            ChargeOutcome::Succeeded {
                charge_id: "pi_1".into(),
                fee_minor: 59
            }
        );
        let needs_backer = answer(200, json!({"id": "pi_1", "status": "requires_action"}));
        assert_eq!(
            outcome(&needs_backer, fee).unwrap(),
            ChargeOutcome::Failed {
                code: "authentication_required".into()
            }
        );
        let insufficient = answer(
            402,
            json!({"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"}}),
        );
        assert_eq!(
            outcome(&insufficient, fee).unwrap(),
            ChargeOutcome::Failed {
                code: "insufficient_funds".into()
            }
        );
        let authentication = answer(
            402,
            json!({"error": {"type": "card_error", "code": "authentication_required"}}),
        );
        assert_eq!(
            outcome(&authentication, fee).unwrap(),
            ChargeOutcome::Failed {
                code: "authentication_required".into()
            }
        );
        let processing = answer(200, json!({"id": "pi_1", "status": "processing"}));
        assert!(outcome(&processing, fee).is_err(), "unknown yet: replayed later");
    }
}
