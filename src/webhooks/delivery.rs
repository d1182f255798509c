//! The delivery worker. Each run fans new events out to the endpoints that want them (one
//! delivery per event and endpoint, so a `webhook-id` is stable), then leases due deliveries,
//! the oldest events first and at most `WEBHOOK_CONCURRENCY_PER_ENDPOINT` in flight per
//! endpoint, and sends each in its own task. A lease outlives the request's timeout, so a
//! worker that dies mid-delivery leaves the delivery to be claimed again: a receiver may see
//! a delivery twice (it deduplicates on `webhook-id`), never zero times.
//!
//! A failed attempt is retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (± 10 %);
//! after the eighth it is `failed`. An endpoint whose every delivery failed for 5 days is
//! disabled and its owner emailed. A delivery waiting for its retry does not hold back the
//! events after it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use prometheus::IntCounterVec;

use super::address::{self, PublicOnly};
use super::endpoints;
use super::secrets::{self, Sealer};
use crate::clock::Clock;
use crate::config::WebhookSettings;
use crate::db::Db;
use crate::db::webhooks::{self, DeliveryRow, EndpointChanges, EndpointRow, EventRow, Outcome};
use crate::domain::{CoreError, DeliveryId, DeliveryStatus};
use crate::mail::queue::account::webhook_disabled;

/// The waits after the 1st … 7th failed attempt (the Standard Webhooks schedule).
pub const SCHEDULE: [Duration; 7] = [
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(10),
];
/// An endpoint failing every delivery this long is disabled.
pub const DISABLE_AFTER: Duration = Duration::days(5);
/// Events fanned out per statement batch.
const FAN_OUT_BATCH: i64 = 500;
/// Deliveries in flight in one worker, over all endpoints.
pub(super) const MAX_IN_FLIGHT: usize = 64;

/// The wait after the `attempt`-th failure, or `None` when that was the last attempt. `jitter`
/// in [-1, 1] moves it by up to 10 %.
pub fn retry_delay(attempt: i32, jitter: f64) -> Option<Duration> {
    let base = SCHEDULE.get(usize::try_from(attempt).ok()?.checked_sub(1)?)?;
    let millis = base.num_milliseconds() as f64 * (1.0 + 0.1 * jitter.clamp(-1.0, 1.0));
    Some(Duration::milliseconds(millis.round() as i64))
}

/// A claimed delivery with what sending it takes.
pub struct Claimed {
    delivery: DeliveryRow,
    event: EventRow,
    endpoint: EndpointRow,
}

pub struct Dispatcher {
    db: Db,
    clock: Clock,
    client: reqwest::Client,
    sealer: Sealer,
    settings: WebhookSettings,
    /// `crowdfund_webhook_deliveries_total{outcome}` when running inside the server.
    counter: Option<IntCounterVec>,
    /// The deliveries this process is sending now.
    sending: std::sync::Mutex<HashSet<DeliveryId>>,
}

impl Dispatcher {
    pub fn new(
        db: Db,
        clock: Clock,
        settings: &WebhookSettings,
        counter: Option<IntCounterVec>,
    ) -> anyhow::Result<Self> {
        let mut client = reqwest::Client::builder()
            .timeout(StdDuration::from_secs(u64::from(settings.timeout_seconds)))
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would connect where the address check never looked.
            .no_proxy()
            .user_agent(concat!("crowdfund-webhooks/", env!("CARGO_PKG_VERSION")));
        if !settings.allow_private {
            client = client.dns_resolver(Arc::new(PublicOnly));
        }
        Ok(Self {
            db,
            clock,
            client: client.build()?,
            sealer: Sealer::new(&settings.secrets_key),
            settings: settings.clone(),
            counter,
            sending: Default::default(),
        })
    }

    fn lease(&self) -> Duration {
        Duration::seconds(i64::from(self.settings.timeout_seconds) + 5)
    }

    /// Makes the deliveries of events not fanned out yet; returns how many.
    pub async fn fan_out(&self) -> Result<usize, CoreError> {
        let now = self.clock.now().naive_utc();
        self.db
            .write(move |conn| {
                let events = webhooks::unfanned(conn, FAN_OUT_BATCH)?;
                if events.is_empty() {
                    return Ok::<_, CoreError>(0);
                }
                let endpoints = webhooks::enabled_endpoints(conn)?;
                let mut made = 0;
                for event in &events {
                    for endpoint in endpoints.iter().filter(|e| endpoints::wants(e, event)) {
                        made += usize::from(
                            webhooks::insert_delivery(conn, event.id, endpoint.id, now)?.is_some(),
                        );
                    }
                }
                let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
                webhooks::mark_fanned_out(conn, &ids, now)?;
                Ok(made)
            })
            .await
    }

    /// Leases up to `room` due deliveries.
    pub async fn claim(&self, room: usize) -> Result<Vec<Claimed>, CoreError> {
        let now = self.clock.now().naive_utc();
        let lease_until = now + self.lease();
        let per_endpoint = i64::from(self.settings.concurrency_per_endpoint);
        let limit = i64::try_from(room).unwrap_or(i64::MAX);
        let sending: Vec<DeliveryId> = self.sending().iter().copied().collect();
        let claimed = self
            .db
            .write(move |conn| {
                let claimed = webhooks::claim(conn, now, lease_until, per_endpoint, limit, &sending)?;
                if claimed.is_empty() {
                    return Ok::<_, CoreError>(Vec::new());
                }
                let event_ids: Vec<i64> = claimed.iter().map(|d| d.event_id).collect();
                let endpoint_ids: Vec<_> = claimed.iter().map(|d| d.endpoint_id).collect();
                let events = webhooks::events_by_ids(conn, &event_ids)?;
                let endpoints = webhooks::endpoints_by_ids(conn, &endpoint_ids)?;
                Ok(claimed
                    .into_iter()
                    .filter_map(|delivery| {
                        let event = events.iter().find(|e| e.id == delivery.event_id)?.clone();
                        let endpoint = endpoints.iter().find(|e| e.id == delivery.endpoint_id)?.clone();
                        Some(Claimed {
                            delivery,
                            event,
                            endpoint,
                        })
                    })
                    .collect::<Vec<_>>())
            })
            .await?;
        self.sending().extend(claimed.iter().map(|c| c.delivery.id));
        Ok(claimed)
    }

    fn sending(&self) -> std::sync::MutexGuard<'_, HashSet<DeliveryId>> {
        self.sending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends one delivery and records how it went.
    pub async fn deliver(&self, claimed: Claimed) -> Result<(), CoreError> {
        let id = claimed.delivery.id;
        let result = self.send_and_record(claimed).await;
        self.sending().remove(&id);
        result
    }

    async fn send_and_record(&self, claimed: Claimed) -> Result<(), CoreError> {
        let now = self.clock.now();
        let (status_code, error) = match self.attempt(&claimed, now).await {
            Ok(code) => (Some(code), None),
            Err((code, error)) => (code, Some(error)),
        };
        let attempt = claimed.delivery.attempts;
        let retry_at = error.as_ref().and_then(|_| {
            let jitter = rand::random::<f64>() * 2.0 - 1.0;
            retry_delay(attempt, jitter).map(|d| (now + d).naive_utc())
        });
        let status = match (&error, retry_at) {
            (None, _) => DeliveryStatus::Succeeded,
            (Some(_), Some(_)) => DeliveryStatus::Pending,
            (Some(_), None) => DeliveryStatus::Failed,
        };
        match &error {
            None => tracing::info!(delivery.id = %claimed.delivery.id, endpoint.id = %claimed.endpoint.id,
                event = claimed.event.event_type.as_str(), "webhook delivered"),
            Some(e) => tracing::warn!(delivery.id = %claimed.delivery.id, endpoint.id = %claimed.endpoint.id,
                event = claimed.event.event_type.as_str(), attempt, ?retry_at, error = %e,
                "webhook not delivered"),
        }
        let outcome = Outcome {
            status_code,
            error,
            status,
            retry_at,
        };
        let Claimed {
            delivery, endpoint, ..
        } = claimed;
        self.db
            .write(move |conn| {
                if !webhooks::record(conn, &delivery, &outcome, now.naive_utc())? {
                    return Ok::<_, CoreError>(());
                }
                note_endpoint_health(conn, &endpoint, status == DeliveryStatus::Succeeded, now)
            })
            .await?;
        let label = match status {
            DeliveryStatus::Pending => "retry",
            done => done.as_str(),
        };
        if let Some(counter) = &self.counter {
            counter.with_label_values(&[label]).inc();
        }
        Ok(())
    }

    /// One request. The receiver's status code when it answered 2xx; otherwise its code (if it
    /// answered) and what went wrong.
    async fn attempt(&self, claimed: &Claimed, now: DateTime<Utc>) -> Result<i32, (Option<i32>, String)> {
        let endpoint = &claimed.endpoint;
        let url =
            url::Url::parse(&endpoint.url).map_err(|e| (None, format!("the URL no longer parses: {e}")))?;
        if !self.settings.allow_private
            && let Some(ip) = url.host().as_ref().and_then(address::literal)
            && !address::is_public(ip)
        {
            return Err((None, format!("refused: {ip} is not a public address")));
        }
        let secret = self.sealer.open(&endpoint.secret).ok_or_else(|| {
            (
                None,
                "the signing secret cannot be read (WEBHOOK_SECRETS_KEY changed?): rotate it".to_owned(),
            )
        })?;
        let mut secrets = vec![secret];
        if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_secret_until)
            && until > now.naive_utc()
            && let Some(previous) = self.sealer.open(previous)
        {
            secrets.push(previous);
        }
        let id = webhook_id(&claimed.delivery);
        let timestamp = now.timestamp();
        let body = claimed.event.payload.clone();
        let signature = secrets
            .iter()
            .filter_map(|s| secrets::sign(s, &id, timestamp, &body))
            .collect::<Vec<_>>()
            .join(" ");
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| (None, chain(&e)))?;
        let code = i32::from(response.status().as_u16());
        if response.status().is_success() {
            Ok(code)
        } else {
            Err((Some(code), format!("the receiver answered {}", response.status())))
        }
    }
}

/// `webhook-id`: the same for every attempt of one event at one endpoint.
pub fn webhook_id(delivery: &DeliveryRow) -> String {
    format!("msg_{}_{}", delivery.event_id, delivery.endpoint_id)
}

/// An error with its causes: reqwest's own message hides the useful part (timed out, refused).
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// A success clears the endpoint's run of failures; a failure starts one, and one that has
/// lasted [`DISABLE_AFTER`] disables the endpoint and tells its owner.
fn note_endpoint_health(
    conn: &mut crate::db::DbConn,
    endpoint: &EndpointRow,
    succeeded: bool,
    now: DateTime<Utc>,
) -> Result<(), CoreError> {
    let Some(current) = webhooks::find_endpoint(conn, endpoint.id)? else {
        return Ok(());
    };
    let at = now.naive_utc();
    let changes = match (succeeded, current.failing_since) {
        (true, None) => return Ok(()),
        (true, Some(_)) => EndpointChanges {
            failing_since: Some(None),
            ..Default::default()
        },
        (false, None) => EndpointChanges {
            failing_since: Some(Some(at)),
            ..Default::default()
        },
        (false, Some(since)) if current.enabled && at - since >= DISABLE_AFTER => {
            webhook_disabled(conn, current.owner_id, current.id.0, &current.url, since, now)?;
            tracing::warn!(endpoint.id = %current.id, since = %since, "webhook endpoint disabled after failing for 5 days");
            EndpointChanges {
                enabled: Some(false),
                disabled_reason: Some(Some(format!(
                    "every delivery failed from {} to {}",
                    since.and_utc().to_rfc3339(),
                    now.to_rfc3339()
                ))),
                updated_at: Some(at),
                ..Default::default()
            }
        }
        (false, Some(_)) => return Ok(()),
    };
    webhooks::update_endpoint(conn, current.id, &changes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_has_eight_attempts_with_bounded_jitter() {
        assert_eq!(retry_delay(1, 0.0), Some(Duration::seconds(5)));
        assert_eq!(retry_delay(2, 0.0), Some(Duration::minutes(5)));
        assert_eq!(retry_delay(7, 0.0), Some(Duration::hours(10)));
        assert_eq!(retry_delay(8, 0.0), None);
        assert_eq!(retry_delay(0, 0.0), None);
        assert_eq!(retry_delay(1, 1.0), Some(Duration::milliseconds(5_500)));
        assert_eq!(retry_delay(1, -1.0), Some(Duration::milliseconds(4_500)));
        assert_eq!(retry_delay(4, 5.0), Some(Duration::minutes(132)));
    }
}
