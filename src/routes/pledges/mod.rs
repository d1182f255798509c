//! `/api/v1/campaigns/{id}/pledges`, `/api/v1/pledges/{id}` and `/api/v1/me/pledges`.

pub mod cancel;
pub mod create;
pub mod fulfilment;
pub mod get;
pub mod mine;
pub mod payment_method;
pub mod refund;
pub mod update;
pub mod view;

use actix_web::web;

use crate::error::ApiError;
use crate::payments::{SaveError, SavedMethod};
use crate::state::AppState;

/// Saves a payment method with the provider, off the async runtime and outside any
/// transaction; a refused method is a 422 on `payment_method`.
async fn save_payment_method(
    state: &web::Data<AppState>,
    backer_id: i64,
    token: String,
) -> Result<SavedMethod, ApiError> {
    let provider = state.payments.clone();
    // A hop to the blocking pool costs more than the sandbox's whole answer.
    if provider.saves_without_io() {
        return saved(provider.save_payment_method(backer_id, &token));
    }
    saved(
        web::block(move || provider.save_payment_method(backer_id, &token))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?,
    )
}

/// The provider's answer as the API's: a refused method is a 422 on `payment_method`.
fn saved(result: Result<SavedMethod, SaveError>) -> Result<SavedMethod, ApiError> {
    match result {
        Ok(saved) => Ok(saved),
        Err(SaveError::Rejected(message)) => Err(ApiError::field("payment_method", message)),
        Err(SaveError::Provider(e)) => Err(ApiError::Unavailable(format!("payment provider: {e:#}"))),
    }
}
