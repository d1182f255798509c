//! Per-key rate limits (per client IP on the authentication routes), by `governor`'s GCRA: a
//! burst of `per_minute` requests, refilled evenly over the minute.
//!
//! In-process: with several instances each enforces its own limit, which multiplies the
//! effective limit by the instance count. That is acceptable for slowing down password guessing;
//! a shared limiter (a reverse proxy's, or the database's) is the next step if it is not.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Gcra};

/// Above this many tracked keys, those whose bucket is full again (idle clients) are forgotten.
const PRUNE_ABOVE: usize = 10_000;

pub struct RateLimiter<K: Hash + Eq + Clone = IpAddr, C: Clock = DefaultClock> {
    limiter: Gcra<K, DefaultKeyedStateStore<K>, C, NoOpMiddleware<C::Instant>>,
    clock: C,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn per_minute(per_minute: u32) -> Self {
        Self::with_clock(per_minute, DefaultClock::default())
    }

    /// A burst of `per_hour`, refilled evenly over the hour.
    pub fn per_hour(per_hour: u32) -> Self {
        let burst = NonZeroU32::new(per_hour).unwrap_or(NonZeroU32::MIN);
        let clock = DefaultClock::default();
        Self {
            limiter: Gcra::new(
                Quota::per_hour(burst),
                DefaultKeyedStateStore::default(),
                clock.clone(),
            ),
            clock,
        }
    }
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> RateLimiter<K, C> {
    pub fn with_clock(per_minute: u32, clock: C) -> Self {
        let burst = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: Gcra::new(
                Quota::per_minute(burst),
                DefaultKeyedStateStore::default(),
                clock.clone(),
            ),
            clock,
        }
    }

    /// Takes one request for `key`; when none is left, returns the seconds until one is (at
    /// least 1, for `Retry-After`).
    pub fn check(&self, key: &K) -> Result<(), u64> {
        if self.limiter.len() > PRUNE_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            wait.as_secs_f64().ceil().max(1.0) as u64
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use governor::clock::FakeRelativeClock;

    use super::*;

    #[test]
    fn allows_a_burst_then_refills() {
        let clock = FakeRelativeClock::default();
        let limiter: RateLimiter<IpAddr, _> = RateLimiter::with_clock(3, clock.clone());
        let ip: IpAddr = [10, 0, 0, 1].into();
        assert!(limiter.check(&ip).is_ok());
        assert!(limiter.check(&ip).is_ok());
        assert!(limiter.check(&ip).is_ok());
        assert_eq!(limiter.check(&ip), Err(20), "one request every 20 s at 3/min");
        assert!(
            limiter.check(&[10, 0, 0, 2].into()).is_ok(),
            "other addresses unaffected"
        );
        clock.advance(Duration::from_secs(20));
        assert!(limiter.check(&ip).is_ok());
        assert_eq!(limiter.check(&ip), Err(20));
    }
}
