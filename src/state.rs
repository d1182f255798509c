//! What every request handler can reach, shared across workers.

use std::sync::Arc;

use crate::auth::JwtKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Db;
use crate::http::metrics::Metrics;
use crate::http::rate_limit::RateLimiter;
use crate::payments::PaymentProvider;

pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    pub jwt: JwtKeys,
    pub settings: Settings,
    pub auth_limiter: RateLimiter,
    pub metrics: Metrics,
    pub payments: Arc<dyn PaymentProvider>,
}
