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
    /// Held for the length of a settlement pass: passes started in one instance take turns.
    /// Two at once would only compete for the same pledges and, each holding a connection while
    /// its threads wait for more, could exhaust the pool. Instances still run side by side.
    pub settlement_turn: tokio::sync::Mutex<()>,
}

impl AppState {
    /// A settlement pass over this application's database, provider and clock. Its threads
    /// take at most half of the pool, leaving the rest to requests.
    pub fn settlement(&self) -> crate::settlement::Settlement {
        let mut config = settlement_config(&self.settings);
        let half_pool = (self.db.max_size() / 2).max(1) as usize;
        config.concurrency = config.concurrency.min(half_pool);
        crate::settlement::Settlement::new(self.db.clone(), self.payments.clone(), self.clock.clone(), config)
    }
}

pub fn settlement_config(settings: &Settings) -> crate::settlement::Config {
    crate::settlement::Config {
        batch_size: i64::from(settings.settlement_batch_size),
        concurrency: settings.settlement_concurrency as usize,
        time_budget: std::time::Duration::from_millis(u64::from(settings.settlement_time_budget_ms)),
        platform_fee_bps: i64::from(settings.platform_fee_bps),
    }
}
