//! Saving a backer's payment method with the provider: off the async runtime, outside any
//! transaction, and answered in the core's terms.

use std::sync::Arc;

use crate::domain::{CoreError, Refusal, UserId};
use crate::payments::{PaymentProvider, SaveError, SavedMethod};

/// Saves `token` for the backer's off-session charges. A refused method is invalid on
/// `payment_method`; a provider that cannot be reached leaves the request to be retried.
pub async fn save(
    provider: Arc<dyn PaymentProvider>,
    backer: UserId,
    token: String,
) -> Result<SavedMethod, CoreError> {
    // A hop to the blocking pool costs more than the sandbox's whole answer.
    if provider.saves_without_io() {
        return saved(provider.save_payment_method(backer, &token));
    }
    let answer = tokio::task::spawn_blocking(move || provider.save_payment_method(backer, &token))
        .await
        .map_err(|e| CoreError::Unexpected(e.into()))?;
    saved(answer)
}

/// The provider's answer as the core's.
pub fn saved(result: Result<SavedMethod, SaveError>) -> Result<SavedMethod, CoreError> {
    match result {
        Ok(saved) => Ok(saved),
        Err(SaveError::Rejected(message)) => Err(Refusal::field("payment_method", message).into()),
        Err(SaveError::Provider(e)) => Err(CoreError::Unavailable(e.context("payment provider"))),
    }
}
