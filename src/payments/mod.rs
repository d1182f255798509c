//! Payment providers. The rest of the code sees only [`PaymentProvider`]: save a payment method
//! when a pledge is made, charge it at settlement with an idempotency key (or at once, for a
//! late pledge), refund it.
//!
//! Calls block (they go to a database or the network): run them on the blocking pool, and never
//! inside a database transaction.

pub mod records;
pub mod sandbox;
pub mod stripe;
pub mod stripe_signature;

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{PaymentProviderKind, Settings};
use crate::db::Db;
use crate::domain::{Money, UserId};

/// The provider the settings name (`PAYMENT_PROVIDER`).
pub fn from_settings(settings: &Settings, db: &Db, clock: &Clock) -> Arc<dyn PaymentProvider> {
    match &settings.payment_provider {
        PaymentProviderKind::Sandbox => Arc::new(sandbox::Sandbox::new(db.clone(), clock.clone())),
        PaymentProviderKind::Stripe(stripe) => {
            Arc::new(stripe::Stripe::new(db.clone(), clock.clone(), stripe.clone()))
        }
    }
}

/// A payment method saved for later, off-session charges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedMethod {
    /// What to store on the pledge and charge later.
    pub reference: String,
    /// For a provider whose set-up the backer may have to finish in the browser (Stripe's
    /// SetupIntent and 3-D Secure): the secret the web app passes to the provider's script.
    pub client_secret: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The method is unknown or refused; the backer must send another (422).
    #[error("{0}")]
    Rejected(String),
    #[error(transparent)]
    Provider(#[from] anyhow::Error),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest<'a> {
    /// `pledge-{id}-attempt-{n}`: replaying a key returns the first outcome, never a new charge.
    pub idempotency_key: &'a str,
    pub payment_method: &'a str,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded {
        charge_id: String,
        /// The provider's processing fee, in the charge's minor unit.
        fee_minor: i64,
    },
    /// Declined: the backer must fix the payment method. `code` is the provider's reason
    /// (`card_declined`, `insufficient_funds`, `authentication_required`).
    Failed { code: String },
}

/// The answer to a charge made while the backer waits for it (a late pledge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnSession {
    /// Succeeded or declined, as a settlement charge is.
    Done(ChargeOutcome),
    /// The bank wants the backer (3-D Secure): the web app finishes the payment with this
    /// secret, and the provider reports the outcome (its webhook). `payment_id` is what
    /// [`PaymentProvider::on_session_status`] reads later.
    RequiresAction {
        payment_id: String,
        client_secret: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest<'a> {
    pub idempotency_key: &'a str,
    pub charge_id: &'a str,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOutcome {
    pub refund_id: String,
}

/// How an attempt was first made, for whoever replays it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstCall<'a> {
    /// At settlement, the backer away.
    OffSession,
    /// A late pledge's, the backer present; with the payment they were asked to confirm, if
    /// they were.
    OnSession { awaiting: Option<&'a str> },
}

/// An attempt replayed with the call its first try made, so that the provider answers with
/// that payment instead of making another. A late pledge's backer has had their chance to
/// confirm by the time anything replays it: a payment still unconfirmed is canceled and
/// declined as `authentication_required` (one that went through meanwhile counts).
pub fn charge_as_first(
    provider: &dyn PaymentProvider,
    request: &ChargeRequest<'_>,
    first: FirstCall<'_>,
) -> anyhow::Result<ChargeOutcome> {
    let answer = match first {
        FirstCall::OffSession => return provider.charge(request),
        FirstCall::OnSession {
            awaiting: Some(payment),
        } => provider.on_session_status(payment)?,
        FirstCall::OnSession { awaiting: None } => provider.charge_on_session(request)?,
    };
    let payment_id = match answer {
        OnSession::Done(outcome) => return Ok(outcome),
        OnSession::RequiresAction { payment_id, .. } => payment_id,
    };
    if provider.cancel_on_session(&payment_id)? {
        return Ok(ChargeOutcome::Failed {
            code: "authentication_required".into(),
        });
    }
    match provider.on_session_status(&payment_id)? {
        OnSession::Done(outcome) => Ok(outcome),
        OnSession::RequiresAction { .. } => {
            anyhow::bail!("payment {payment_id} could not be canceled and still awaits its backer")
        }
    }
}

pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> &'static str;
    /// Saves `token` (what the web app got from the provider) for off-session charges of
    /// `backer`'s pledge.
    fn save_payment_method(&self, backer: UserId, token: &str) -> Result<SavedMethod, SaveError>;
    /// Whether [`PaymentProvider::save_payment_method`] answers without I/O (no network, no
    /// database) and keeps nothing, so that a request may call it in place instead of on the
    /// blocking pool, and before its `Idempotency-Key` is looked at: a call that has no effect
    /// needs no protection from repeats.
    fn saves_without_io(&self) -> bool {
        false
    }
    /// Errors are transport or provider failures: the outcome is unknown and the same key
    /// must be replayed later.
    fn charge(&self, request: &ChargeRequest<'_>) -> anyhow::Result<ChargeOutcome>;
    /// Several charges, each answered as [`PaymentProvider::charge`] would; one after the other
    /// unless the provider can take them together.
    fn charge_many(&self, requests: &[ChargeRequest<'_>]) -> Vec<anyhow::Result<ChargeOutcome>> {
        requests.iter().map(|request| self.charge(request)).collect()
    }
    /// A charge while the backer is present, who may be asked to confirm it. The same key
    /// always gets the same call: a replay answers with the payment as it is now. Errors are
    /// unknown outcomes, as for [`PaymentProvider::charge`].
    fn charge_on_session(&self, request: &ChargeRequest<'_>) -> anyhow::Result<OnSession> {
        self.charge(request).map(OnSession::Done)
    }
    /// The payment a backer was asked to confirm, as it is now. Only a provider whose
    /// [`PaymentProvider::charge_on_session`] asks for confirmation is asked this.
    fn on_session_status(&self, payment_id: &str) -> anyhow::Result<OnSession> {
        anyhow::bail!(
            "{} never asks a backer to confirm a payment ({payment_id})",
            self.name()
        )
    }
    /// Cancels a payment still waiting for its backer; false if it could not be canceled (it
    /// went through, or failed, meanwhile).
    fn cancel_on_session(&self, payment_id: &str) -> anyhow::Result<bool> {
        anyhow::bail!(
            "{} never asks a backer to confirm a payment ({payment_id})",
            self.name()
        )
    }
    fn refund(&self, request: &RefundRequest<'_>) -> anyhow::Result<RefundOutcome>;
    /// Every charge the provider made under one of our keys since `since` (all without it),
    /// with what it refunded of each: the provider's side of a reconciliation.
    fn records(&self, since: Option<chrono::NaiveDateTime>) -> anyhow::Result<records::ProviderRecords>;
}
