//! What every request handler can reach, shared across workers.

use std::sync::Arc;

use super::metrics::Metrics;
use super::rate_limit::RateLimiter;
use crate::auth::JwtKeys;
use crate::auth::password::Hashing;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Db;
use crate::payments::PaymentProvider;
use crate::settlement::Settlement;

pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    pub jwt: JwtKeys,
    pub settings: Settings,
    pub auth_limiter: RateLimiter,
    /// Per user: each change of a pledge queues an email and rewrites rows.
    pub pledge_change_limiter: RateLimiter<crate::domain::UserId>,
    /// Every password hash of a request goes through it: bounded memory under a login flood.
    pub hashing: Hashing,
    pub metrics: Metrics,
    pub payments: Arc<dyn PaymentProvider>,
    pub media: Arc<crate::media::Media>,
    /// Per user: each upload takes a decode and three encodes.
    pub upload_limiter: RateLimiter<crate::domain::UserId>,
    /// Held for the length of a settlement pass: passes started in one instance take turns.
    /// Two at once would only compete for the same pledges and, each holding a connection while
    /// its threads wait for more, could exhaust the pool. Instances still run side by side.
    pub settlement_turn: tokio::sync::Mutex<()>,
    /// Campaign views kept for anonymous callers (see `http::cache`).
    pub views: super::cache::Views,
    /// Pledges waiting for the next transaction (`db::group_commit`).
    pub group_commit: Arc<crate::db::group_commit::GroupCommit<super::idempotency::Answer, super::ApiError>>,
}

impl AppState {
    /// Takes one of the user's pledge changes for this minute, or answers 429.
    pub fn pledge_change_allowed(&self, user: crate::domain::UserId) -> Result<(), super::ApiError> {
        take(&self.pledge_change_limiter, user)
    }

    /// Takes one of the user's uploads for this hour, or answers 429.
    pub fn upload_allowed(&self, user: crate::domain::UserId) -> Result<(), super::ApiError> {
        take(&self.upload_limiter, user)
    }

    /// A settlement pass over this application's database, provider and clock.
    pub fn settlement(&self) -> Settlement {
        Settlement::from_settings(
            &self.settings,
            self.db.clone(),
            self.payments.clone(),
            self.media.clone(),
            self.clock.clone(),
        )
    }
}

fn take(
    limiter: &RateLimiter<crate::domain::UserId>,
    user: crate::domain::UserId,
) -> Result<(), super::ApiError> {
    limiter
        .check(&user)
        .map_err(|retry_after_secs| super::ApiError::TooManyRequests { retry_after_secs })
}
