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

impl AppState {
    /// A settlement pass over this application's database, provider and clock.
    pub fn settlement(&self) -> crate::settlement::Settlement {
        crate::settlement::Settlement {
            db: self.db.clone(),
            provider: self.payments.clone(),
            clock: self.clock.clone(),
            config: settlement_config(&self.settings),
        }
    }
}

pub fn settlement_config(settings: &Settings) -> crate::settlement::Config {
    crate::settlement::Config {
        batch_size: i64::from(settings.settlement_batch_size),
        time_budget: std::time::Duration::from_millis(u64::from(settings.settlement_time_budget_ms)),
        platform_fee_bps: i64::from(settings.platform_fee_bps),
    }
}
