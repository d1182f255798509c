//! `/api/v1/webhooks/*`: notifications from the payment provider.

pub mod stripe;
