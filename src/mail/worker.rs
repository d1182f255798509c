//! Delivery: claims due outbox rows, renders and sends them, and records the outcome.
//!
//! Rows are claimed with a lease (one conditional UPDATE), so several instances — or a worker
//! and `crowdfund send-mail` — never send the same row at once. A failed attempt is retried
//! after `MAIL_RETRY_BASE_MS × 2^(attempt − 1)`, at most an hour; after `MAIL_MAX_ATTEMPTS`
//! attempts, or at once when the server refuses the message for good (5xx), the row is marked
//! `failed` and keeps its last error.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use lettre::message::Mailbox;
use prometheus::IntCounterVec;
use serde::Serialize;

use super::Template;
use super::render::{self, Common};
use super::transport::{self, SendError, Transport};
use crate::clock::Clock;
use crate::config::MailSettings;
use crate::db::Db;
use crate::db::outbox::{self, OutboxRow};
use crate::domain::{CoreError, OutboxStatus};

/// How long a worker holds the rows it claimed; far longer than one SMTP exchange.
const LEASE: Duration = Duration::minutes(5);
/// Rows claimed at a time.
const BATCH: i64 = 50;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::hours(1);

/// What one delivery run did.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Delivery {
    pub sent: u64,
    /// Failed attempts that will be retried.
    pub retrying: u64,
    /// Messages given up on.
    pub failed: u64,
}

pub struct Mailer {
    db: Db,
    clock: Clock,
    transport: Transport,
    from: Mailbox,
    base_url: String,
    max_attempts: i32,
    retry_base: Duration,
    /// `crowdfund_emails_total{outcome}` when running inside the server.
    counter: Option<IntCounterVec>,
}

impl Mailer {
    /// Must be called inside a Tokio runtime (see [`Transport::from_settings`]).
    pub fn new(
        db: Db,
        clock: Clock,
        settings: &MailSettings,
        counter: Option<IntCounterVec>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            db,
            clock,
            transport: Transport::from_settings(settings)?,
            from: settings
                .from
                .parse()
                .map_err(|e| anyhow::anyhow!("MAIL_FROM: {e}"))?,
            base_url: settings.app_base_url.clone(),
            max_attempts: settings.max_attempts.try_into().unwrap_or(i32::MAX),
            retry_base: Duration::milliseconds(i64::from(settings.retry_base_ms)),
            counter,
        })
    }

    pub fn describe(&self) -> String {
        self.transport.describe()
    }

    /// Sends everything that is due now, batch after batch.
    pub async fn deliver_due(&self) -> Result<Delivery, CoreError> {
        let mut delivery = Delivery::default();
        loop {
            let now = self.clock.now();
            let claimed = self
                .db
                .write(move |conn| {
                    Ok::<_, CoreError>(outbox::claim_due(
                        conn,
                        now.naive_utc(),
                        (now + LEASE).naive_utc(),
                        BATCH,
                    )?)
                })
                .await?;
            let full = claimed.len() as i64 >= BATCH;
            for row in claimed {
                self.deliver(row, &mut delivery).await?;
            }
            if !full {
                return Ok(delivery);
            }
        }
    }

    async fn deliver(&self, row: OutboxRow, delivery: &mut Delivery) -> Result<(), CoreError> {
        let outcome = self.attempt(&row).await;
        let now = self.clock.now().naive_utc();
        let id = row.id;
        let redaction = super::queue::account::redaction(&row);
        let label = match outcome {
            Ok(()) => {
                self.db
                    .run(move |conn| {
                        if outbox::mark_sent(conn, id, now)?
                            && let Some(r) = &redaction
                        {
                            outbox::redact(conn, id, &r.context, r.recipient())?;
                        }
                        Ok::<_, CoreError>(())
                    })
                    .await?;
                delivery.sent += 1;
                tracing::info!(outbox.id = id, template = %row.template, "email sent");
                OutboxStatus::Sent.as_str()
            }
            Err(SendError { permanent, message }) => {
                let give_up = permanent || row.attempts >= self.max_attempts;
                let retry_at = (!give_up).then(|| now + backoff(self.retry_base, row.attempts));
                tracing::warn!(
                    outbox.id = id,
                    template = %row.template,
                    attempt = row.attempts,
                    ?retry_at,
                    error = %message,
                    "email not sent"
                );
                self.db
                    .run(move |conn| {
                        let marked = outbox::mark_attempt_failed(conn, id, &message, retry_at)?;
                        if give_up
                            && marked > 0
                            && let Some(r) = &redaction
                        {
                            outbox::redact(conn, id, &r.context, r.recipient())?;
                        }
                        Ok::<_, CoreError>(())
                    })
                    .await?;
                if give_up {
                    delivery.failed += 1;
                    OutboxStatus::Failed.as_str()
                } else {
                    delivery.retrying += 1;
                    "retry"
                }
            }
        };
        if let Some(counter) = &self.counter {
            counter.with_label_values(&[label]).inc();
        }
        Ok(())
    }

    async fn attempt(&self, row: &OutboxRow) -> Result<(), SendError> {
        let permanent = |message: String| SendError {
            permanent: true,
            message,
        };
        let template = Template::from_str(&row.template).map_err(permanent)?;
        let context: serde_json::Value =
            serde_json::from_str(&row.context).map_err(|e| permanent(format!("context is not JSON: {e}")))?;
        let rendered = render::render(
            template,
            &context,
            &Common {
                recipient_name: &row.recipient_name,
                base_url: &self.base_url,
            },
        )
        .map_err(|e| permanent(format!("rendering {template}: {e:#}")))?;
        let message = transport::compose(
            &self.from,
            &row.recipient_name,
            &row.recipient,
            &message_id(row, &self.from),
            rendered,
        )?;
        self.transport
            .send(message, &format!("{:08}-{}", row.id, row.template))
            .await
    }
}

/// The same for every attempt at one row, and different for every row.
pub fn message_id(row: &OutboxRow, from: &Mailbox) -> String {
    format!(
        "<outbox.{}.{}@{}>",
        row.id,
        row.created_at.and_utc().timestamp_micros(),
        from.email.domain()
    )
}

/// The wait after the `attempt`-th failure: `base × 2^(attempt − 1)`, at most [`MAX_BACKOFF`].
pub fn backoff(base: Duration, attempt: i32) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(30);
    base.checked_mul(1 << doublings)
        .map_or(MAX_BACKOFF, |d| d.min(MAX_BACKOFF))
}

/// The background worker of `crowdfund serve`.
pub struct Worker {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Delivers due mail every `interval` until [`Worker::stop`].
    pub fn spawn(mailer: Arc<Mailer>, interval: StdDuration) -> Self {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                if let Err(e) = mailer.deliver_due().await {
                    tracing::warn!(error = ?e, "email delivery run failed; will try again");
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stopped.changed() => break,
                }
            }
        });
        Self { stop, task }
    }

    /// Lets the message being sent finish, then stops.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::seconds(30);
        assert_eq!(backoff(base, 1), Duration::seconds(30));
        assert_eq!(backoff(base, 2), Duration::seconds(60));
        assert_eq!(backoff(base, 4), Duration::seconds(240));
        assert_eq!(backoff(base, 8), Duration::hours(1));
        assert_eq!(backoff(base, 1000), Duration::hours(1));
    }
}
