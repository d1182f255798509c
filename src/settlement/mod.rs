//! The settlement pass, run by cron through `POST /api/v1/settlement/run` or `crowdfund settle`.
//!
//! Each pass: (0) emails the creators of live campaigns with under 48 hours left; (1) closes
//! live campaigns past their deadline as funded or failed, freezing their
//! figures (a failed campaign's pledges are released); (2) charges the active pledges of funded
//! campaigns and (3) retries errored ones that are due — every 48 hours, or at once after the
//! backer replaced the payment method — and drops those errored for 7 days; (4) completes
//! funded campaigns with nothing left in flight (successful, payout posted to the ledger); (5)
//! reminds backers of unanswered surveys (every 7 days, 3 times) and erases survey answers
//! `ADDRESS_RETENTION_DAYS` after delivery; (6) deletes the images nothing used a day after
//! their upload, and the stored objects no image has any more.
//! Closing a campaign early (canceled, suspended) is `close` too, and the provider's own
//! reports of charges and refunds (its webhooks) are applied by `provider_events`.
//!
//! - **Exactly once**: each charge attempt is written, with its idempotency key
//!   `pledge-{id}-attempt-{n}`, before the provider is called; a pass that finds an attempt still
//!   pending (a crash between the call and the record) replays the same key, and the provider
//!   answers with the first outcome instead of charging again.
//! - **Concurrent-safe**: pledges are claimed with a lease by one conditional UPDATE; campaign
//!   transitions are conditional UPDATEs; ledger postings are unique by reference.
//! - **Resumable**: every step is a set of small transactions whose effects the next pass
//!   recognises, so a crash anywhere is repaired by running again.
//! - **Bounded**: each step takes at most `SETTLEMENT_BATCH_SIZE` items per batch and the pass
//!   stops starting new batches after `SETTLEMENT_TIME_BUDGET_MS`; `more: true` says so.

mod charge;
pub mod close;
mod complete;
pub mod figures;
pub mod provider_events;
mod record;
pub use record::{Recorded, record_outcome};
mod remind;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use serde::Serialize;
use utoipa::ToSchema;

use crate::campaigns::is_charged;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::campaigns::CampaignRow;
use crate::db::images as db_images;
use crate::db::{Db, DbConn, settlement, write_transaction};
use crate::domain::FundingModel::AllOrNothing;
use crate::domain::{CoreError, PledgeId};
use crate::media::{Media, images};
use crate::payments::PaymentProvider;
use crate::surveys;

/// Between two charge attempts of an errored pledge.
pub const RETRY_EVERY: Duration = Duration::hours(48);
/// An errored pledge is dropped this long after its first failure.
pub const DROP_AFTER: Duration = Duration::days(7);
/// Creators hear that their campaign is ending this long before its deadline.
pub const ENDING_NOTICE: Duration = Duration::hours(48);
/// How long a run holds a pledge it is charging.
pub const LEASE: Duration = Duration::minutes(5);

#[derive(Clone)]
pub struct Config {
    pub batch_size: i64,
    /// Threads charging (and recording) a chunk at once; each holds a pooled connection.
    pub concurrency: usize,
    pub time_budget: StdDuration,
    pub platform_fee_bps: i64,
    /// Instead of `platform_fee_bps` for a flexible campaign that missed its goal.
    pub platform_fee_flexible_missed_bps: i64,
    /// How long a delivered pledge's survey answers are kept.
    pub address_retention: Duration,
}

impl Config {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            batch_size: i64::from(settings.settlement_batch_size),
            concurrency: settings.settlement_concurrency as usize,
            time_budget: StdDuration::from_millis(u64::from(settings.settlement_time_budget_ms)),
            platform_fee_bps: i64::from(settings.platform_fee_bps),
            platform_fee_flexible_missed_bps: i64::from(settings.platform_fee_flexible_missed_bps),
            address_retention: Duration::days(i64::from(settings.address_retention_days)),
        }
    }

    /// The platform's share of what `campaign` collected, in basis points: a flexible campaign
    /// that missed its goal at the deadline pays the higher rate for keeping what it raised.
    pub fn platform_fee_bps_for(&self, campaign: &CampaignRow) -> i64 {
        let at_deadline = campaign.final_pledged_minor.unwrap_or(campaign.pledged_minor);
        if AllOrNothing.charges(at_deadline, campaign.goal_minor) {
            self.platform_fee_bps
        } else {
            self.platform_fee_flexible_missed_bps
        }
    }
}

/// What one pass did (or, for a dry run, would do).
#[derive(Debug, Default, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Summary {
    pub dry_run: bool,
    pub campaigns: CampaignCounts,
    pub pledges: PledgeCounts,
    pub images: ImageCounts,
    pub surveys: SurveyCounts,
    pub comments: CommentCounts,
    /// A batch or the time budget ran out: call again.
    pub more: bool,
}

#[derive(Debug, Default, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct CampaignCounts {
    /// Creators emailed that their campaign has under 48 hours left.
    pub reminded: u64,
    pub funded: u64,
    pub failed: u64,
    pub successful: u64,
}

#[derive(Debug, Default, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct PledgeCounts {
    pub collected: u64,
    pub errored: u64,
    pub dropped: u64,
    pub released: u64,
    /// Charges whose outcome is unknown (provider unreachable): retried by a later pass.
    pub deferred: u64,
}

#[derive(Debug, Default, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct ImageCounts {
    /// Images nothing used a day after their upload, deleted.
    pub deleted: u64,
    /// Stored variants deleted because no image has them any more.
    pub objects_deleted: u64,
}

#[derive(Debug, Default, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct SurveyCounts {
    /// Backers reminded of an unanswered survey.
    pub reminded: u64,
    /// Pledges whose answers (addresses) were erased: delivered long enough ago, or of a
    /// deleted account with nothing left to ship.
    pub erased: u64,
}

#[derive(Debug, Default, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct CommentCounts {
    /// Creators sent the daily digest of their backers' comments.
    pub digests: u64,
}

/// Queues the creators' daily digests of comments (`community::digest`).
fn digest_batch(
    pass: &Settlement,
    conn: &mut DbConn,
    summary: &mut Summary,
    _: Instant,
) -> Result<bool, CoreError> {
    let now = pass.clock.now();
    let limit = pass.config.batch_size;
    let queued = write_transaction(conn, |conn| crate::community::digest::queue_due(conn, now, limit))
        .map_err(failed_on("queueing comment digests".into()))?;
    summary.comments.digests += queued as u64;
    Ok(queued as i64 >= limit)
}

/// Reminds backers of unanswered surveys, then erases the answers past their retention.
fn survey_batch(
    pass: &Settlement,
    conn: &mut DbConn,
    summary: &mut Summary,
    _deadline: Instant,
) -> Result<bool, CoreError> {
    let now = pass.clock.now();
    let limit = pass.config.batch_size;
    let (reminded, erased) = write_transaction(conn, |conn| {
        let reminded = surveys::remind(conn, now, limit)?;
        let erased = surveys::retention::erase_due(conn, now, pass.config.address_retention, limit)?;
        Ok::<_, CoreError>((reminded, erased))
    })
    .map_err(failed_on("reminding surveys and erasing answers".into()))?;
    summary.surveys.reminded += reminded as u64;
    summary.surveys.erased += erased as u64;
    Ok(reminded as i64 >= limit || erased as i64 >= limit)
}

/// Deletes unused images and the objects nothing stores any more (see `media::images`). An
/// unreachable store only postpones this housekeeping to a later pass: the money steps before
/// it have done their work, and the pass does not fail for it.
fn media_batch(
    pass: &Settlement,
    conn: &mut DbConn,
    summary: &mut Summary,
    _: Instant,
) -> Result<bool, CoreError> {
    match images::cleanup_batch(conn, &pass.media, pass.clock.now(), pass.config.batch_size) {
        Ok((deleted, objects, full)) => {
            summary.images.deleted += deleted;
            summary.images.objects_deleted += objects;
            Ok(full)
        }
        Err(CoreError::Unavailable(cause)) => {
            tracing::warn!(error = %format!("{cause:#}"), "media store unreachable: unused images wait for the next pass");
            Ok(false)
        }
        Err(other) => Err(other),
    }
}

/// One step of a pass: works through one batch and says whether it was full (more may be
/// waiting). Steps that can stop inside a batch honour `deadline`.
type Step = fn(&Settlement, &mut DbConn, &mut Summary, Instant) -> Result<bool, CoreError>;

/// Names the item a step failed on, keeping the cause chain (and an outage an outage).
fn failed_on(what: String) -> impl FnOnce(CoreError) -> CoreError {
    move |e| match e {
        CoreError::Unavailable(cause) => CoreError::Unavailable(cause.context(what)),
        other => CoreError::Unexpected(anyhow::Error::new(other).context(what)),
    }
}

pub struct Settlement {
    pub db: Db,
    pub provider: Arc<dyn PaymentProvider>,
    /// Images nothing uses are deleted by the pass, from the store too; campaigns' covers
    /// appear in the webhook payloads of the changes it makes.
    pub media: Arc<Media>,
    pub clock: Clock,
    pub config: Config,
    /// The highest pledge id this pass has leased to charge: the next batch is looked up past
    /// it (see `charge::batch`). Set back to 0 when a pass starts.
    leased_up_to: AtomicI64,
}

impl Settlement {
    pub fn new(
        db: Db,
        provider: Arc<dyn PaymentProvider>,
        media: Arc<Media>,
        clock: Clock,
        config: Config,
    ) -> Self {
        Self {
            db,
            provider,
            media,
            clock,
            config,
            leased_up_to: AtomicI64::new(0),
        }
    }

    /// The pass the settings describe, over `db`, `provider` and `clock`: what the cron route,
    /// `crowdfund settle` and the tests all run. Its charging threads take at most half of the
    /// pool, each holding a connection, leaving the rest to requests and to the pass itself.
    pub fn from_settings(
        settings: &Settings,
        db: Db,
        provider: Arc<dyn PaymentProvider>,
        media: Arc<Media>,
        clock: Clock,
    ) -> Self {
        let mut config = Config::from_settings(settings);
        let half_pool = (db.max_size() / 2).max(1) as usize;
        config.concurrency = config.concurrency.min(half_pool);
        Self::new(db, provider, media, clock, config)
    }

    /// The highest pledge id this pass has leased to charge.
    fn last_leased(&self) -> PledgeId {
        PledgeId(self.leased_up_to.load(Ordering::Relaxed))
    }

    /// One pass. Blocking: run it on the blocking pool or a thread of its own.
    pub fn run(&self) -> Result<Summary, CoreError> {
        self.leased_up_to.store(0, Ordering::Relaxed);
        let deadline = Instant::now() + self.config.time_budget;
        let mut summary = Summary::default();
        let mut conn = self.db.get_blocking()?;
        // In order; each step drains its batches before the next starts.
        let steps: [Step; 8] = [
            remind::batch,
            close::batch,
            charge::drop_batch,
            charge::batch,
            complete::batch,
            survey_batch,
            digest_batch,
            media_batch,
        ];
        for step in steps {
            while step(self, &mut conn, &mut summary, deadline)? {
                if Instant::now() >= deadline {
                    summary.more = true;
                    return Ok(summary);
                }
            }
        }
        Ok(summary)
    }

    /// What a pass would do now, changing nothing.
    pub fn dry_run(&self) -> Result<Summary, CoreError> {
        let now = self.clock.now().naive_utc();
        let mut conn = self.db.get_blocking()?;
        let mut summary = Summary {
            dry_run: true,
            ..Summary::default()
        };
        summary.campaigns.reminded =
            settlement::ending_soon(&mut conn, now, now + ENDING_NOTICE, i64::MAX)?.len() as u64;
        let due = settlement::past_deadline(&mut conn, now, i64::MAX)?;
        for campaign in &due {
            if is_charged(campaign) {
                summary.campaigns.funded += 1;
            } else {
                summary.campaigns.failed += 1;
                summary.pledges.released += campaign.backer_count.max(0) as u64;
            }
        }
        let (active, retries) = settlement::count_chargeable(&mut conn, now)?;
        let newly_funded: i64 = due
            .iter()
            .filter(|c| is_charged(c))
            .map(|c| i64::from(c.backer_count))
            .sum();
        // Charges that would be attempted (their outcomes are the provider's to tell).
        summary.pledges.collected = (active + retries + newly_funded).max(0) as u64;
        summary.pledges.dropped = settlement::count_droppable(&mut conn, now - DROP_AFTER)?.max(0) as u64;
        summary.campaigns.successful = settlement::completable(&mut conn, i64::MAX)?.len() as u64;
        let unused_before = (self.clock.now() - images::UNUSED_FOR).naive_utc();
        summary.images.deleted = db_images::unused_since(&mut conn, unused_before, i64::MAX)?.len() as u64;
        Ok(summary)
    }
}
