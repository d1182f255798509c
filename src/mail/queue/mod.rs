//! What each trigger queues. Every function runs inside the caller's transaction, next to the
//! change it reports, and stores the figures as they are at that moment (amounts in minor units
//! with the campaign's currency; instants in RFC 3339). Subject ids make each email unique:
//!
//! | template | to | subject id | queued by |
//! |---|---|---|---|
//! | `pledge_confirmed` | backer | `pledge:{id}` | `pledges::lifecycle::created` |
//! | `pledge_changed` | backer | `pledge-changes:{pledge id}:{event id}`, coalesced: at most one per pledge per 10 min, with the latest state | `pledges::lifecycle::changed` |
//! | `pledge_canceled` | backer | `pledge:{id}` | `pledges::lifecycle::cancel` |
//! | `campaign_canceled` | each active backer | `pledge:{id}` | `campaigns::lifecycle` (cancel, suspend) |
//! | `campaign_funded` | each active backer | `pledge:{id}` | `campaigns::lifecycle` (settlement closes it funded) |
//! | `campaign_failed` | each active backer | `pledge:{id}` | `campaigns::lifecycle` (settlement closes it failed) |
//! | `payment_receipt` | backer | `pledge:{id}` | `pledges::lifecycle::collect` (settlement, charge succeeded) |
//! | `payment_failed` | backer | `charge-attempt:{id}` (each failed attempt, so every 48 h) | `pledges::lifecycle::decline` |
//! | `pledge_dropped` | backer | `pledge:{id}` | `pledges::lifecycle::drop` (errored for 7 days) |
//! | `refund_issued` | backer | `pledge:{id}` | `pledges::lifecycle::refund` (API or webhook) |
//! | `campaign_update` | each current backer | `update:{id}:pledge:{id}` | `campaigns::updates::publish` |
//! | `survey` | each collected backer | `pledge:{id}` | `surveys` (sent, or pledge collected later) |
//! | `survey_reminder` | unanswered backers | `survey-reminder:{pledge id}:{n}`, every 7 days, 3 at most | settlement |
//! | `reward_shipped` | backer | `pledge:{id}` | `fulfilment` (marked shipped) |
//! | `comment_reply` | the parent comment's author | `comment-reply:{parent id}:{reply id}`, at most one per thread per hour | `community::comments::post` |
//! | `campaign_launched_followed`, `campaign_ending_followed` | each follower (ending: those without a pledge) | `campaign:{id}` | `campaigns::lifecycle` (launch); settlement, under 48 h left |
//! | `comments_digest` | creator | `comments-digest:{campaign id}:{day}` | settlement, once a day with new comments |
//! | `campaign_launched` | creator | `campaign:{id}` | `campaigns::lifecycle` (launch) |
//! | `campaign_ending` | creator | `campaign:{id}` | settlement, under 48 h left |
//! | `campaign_successful` | creator | `campaign:{id}` | settlement, campaign completed |
//! | `creator_campaign_failed` | creator | `campaign:{id}` | `campaigns::lifecycle` (closed failed) |

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::QueryResult;
use serde_json::{Map, Value, json};

use super::Template;
use crate::db::DbConn;
use crate::db::campaigns::CampaignRow;
use crate::db::outbox::{self, ToUser};
use crate::db::pledges::PledgeRow;
use crate::domain::{PledgeStatus, UserId};

pub mod account;
pub mod community;
mod creator;
pub mod fulfilment;
pub use creator::{Payout, campaign_ending, campaign_launched, campaign_successful};

/// An instant as it appears in a context: RFC 3339, UTC.
pub fn instant(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn campaign_fields(campaign: &CampaignRow) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("campaign_id".into(), json!(campaign.id));
    fields.insert("campaign_title".into(), json!(campaign.title));
    fields.insert("campaign_slug".into(), json!(campaign.slug));
    fields.insert("currency".into(), json!(campaign.currency));
    fields
}

fn with(campaign: &CampaignRow, extra: Value) -> String {
    let mut fields = campaign_fields(campaign);
    if let Value::Object(extra) = extra {
        fields.extend(extra);
    }
    Value::Object(fields).to_string()
}

fn to_user(
    conn: &mut DbConn,
    template: Template,
    user_id: UserId,
    subject_id: &str,
    context: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let email = ToUser {
        user_id,
        subject_id: subject_id.to_owned(),
        context: context.to_owned(),
    };
    outbox::queue_for_users(
        conn,
        template.as_str(),
        template.addresses(),
        &[email],
        now.naive_utc(),
    )
    .map(drop)
}

/// An email to a pledge's backer about that pledge, under `subject_id`: the campaign's fields,
/// the pledge's id and amount, and `extra`.
fn backer_email(campaign: &CampaignRow, pledge: &PledgeRow, subject_id: String, extra: Value) -> ToUser {
    let mut fields = json!({ "pledge_id": pledge.id, "amount_minor": pledge.amount_minor });
    if let (Value::Object(fields), Value::Object(extra)) = (&mut fields, extra) {
        fields.extend(extra);
    }
    ToUser {
        user_id: pledge.backer_id,
        subject_id,
        context: with(campaign, fields),
    }
}

fn to_backer(
    conn: &mut DbConn,
    template: Template,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    subject_id: &str,
    extra: Value,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let email = backer_email(campaign, pledge, subject_id.to_owned(), extra);
    outbox::queue_for_users(
        conn,
        template.as_str(),
        template.addresses(),
        &[email],
        now.naive_utc(),
    )
    .map(drop)
}

/// [`to_backer`] with the pledge as the subject (`pledge:{id}`): one such email per pledge.
fn about_pledge(
    conn: &mut DbConn,
    template: Template,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    extra: Value,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let subject = format!("pledge:{}", pledge.id);
    to_backer(conn, template, campaign, pledge, &subject, extra, now)
}

/// The `pledge_confirmed` email of a new pledge ([`Template::PledgeConfirmed`]), for the
/// caller to queue with the pledge: `pledges::lifecycle::created` builds every record of a new
/// pledge before it is written.
pub fn pledge_confirmed(campaign: &CampaignRow, pledge: &PledgeRow, tier_title: Option<&str>) -> ToUser {
    let extra = json!({ "tier_title": tier_title, "deadline": campaign.deadline.map(instant) });
    backer_email(campaign, pledge, format!("pledge:{}", pledge.id), extra)
}

pub struct Change<'a> {
    pub event_id: i64,
    pub previous_amount_minor: i64,
    pub tier_title: Option<&'a str>,
}

/// Changes to one pledge are told at most once per this many minutes: a backer who edits a
/// pledge twenty times gets one email with the latest state, not twenty.
pub const CHANGE_EMAIL_SPACING_MINUTES: i64 = 10;

/// Coalesced: while an earlier change's email is still waiting, it is rewritten with the
/// latest state (keeping the amount from before the first change); otherwise a new one is
/// queued, due no sooner than [`CHANGE_EMAIL_SPACING_MINUTES`] after the previous one.
pub fn pledge_changed(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    change: &Change<'_>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let template = Template::PledgeChanged;
    let prefix = format!("pledge-changes:{}:", pledge.id);
    let extra = json!({
        "previous_amount_minor": change.previous_amount_minor,
        "tier_title": change.tier_title,
        "deadline": campaign.deadline.map(instant),
    });
    let email = backer_email(campaign, pledge, format!("{prefix}{}", change.event_id), extra);
    let mut due = now.naive_utc();
    if let Some(last) = outbox::latest_with_subject(conn, template.as_str(), &prefix)? {
        let before_first = serde_json::from_str::<Value>(&last.context)
            .ok()
            .and_then(|c| c.get("previous_amount_minor").cloned());
        if let (Some(before_first), Ok(mut context)) =
            (before_first, serde_json::from_str::<Value>(&email.context))
        {
            context["previous_amount_minor"] = before_first;
            if outbox::replace_queued_context(conn, last.id, &context.to_string(), now.naive_utc())? {
                return Ok(());
            }
        }
        due = due.max(last.next_attempt_at + chrono::Duration::minutes(CHANGE_EMAIL_SPACING_MINUTES));
    }
    outbox::queue_for_users_due(
        conn,
        template.as_str(),
        template.addresses(),
        &[email],
        due,
        now.naive_utc(),
    )
    .map(drop)
}

pub fn pledge_canceled(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    about_pledge(conn, Template::PledgeCanceled, campaign, pledge, json!({}), now)
}

/// To every backer whose pledge is still active: about to be released or charged.
fn to_active_backers(
    conn: &mut DbConn,
    template: Template,
    campaign: &CampaignRow,
    extra: Value,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    outbox::queue_for_backers(
        conn,
        template.as_str(),
        campaign.id,
        &[PledgeStatus::Active],
        "pledge:",
        &with(campaign, extra),
        now.naive_utc(),
    )
    .map(drop)
}

/// What `campaign_canceled` says beside the campaign's fields.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Cancellation {
    /// Suspended by the platform, rather than canceled by its creator.
    pub suspended: bool,
}

impl Cancellation {
    pub fn context(self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// To every backer whose pledge the cancellation (or suspension) is about to release.
pub fn campaign_canceled(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    cancellation: Cancellation,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    to_active_backers(
        conn,
        Template::CampaignCanceled,
        campaign,
        cancellation.context(),
        now,
    )
}

fn outcome_fields(campaign: &CampaignRow) -> Value {
    json!({
        "pledged_minor": campaign.pledged_minor,
        "goal_minor": campaign.goal_minor.unwrap_or_default(),
        "backer_count": campaign.backer_count,
    })
}

/// To every backer about to be charged.
pub fn campaign_funded(conn: &mut DbConn, campaign: &CampaignRow, now: DateTime<Utc>) -> QueryResult<()> {
    to_active_backers(
        conn,
        Template::CampaignFunded,
        campaign,
        outcome_fields(campaign),
        now,
    )
}

/// To every backer whose pledge is about to be released, and to the creator.
pub fn campaign_failed(conn: &mut DbConn, campaign: &CampaignRow, now: DateTime<Utc>) -> QueryResult<()> {
    to_active_backers(
        conn,
        Template::CampaignFailed,
        campaign,
        outcome_fields(campaign),
        now,
    )?;
    creator::to_creator(
        conn,
        Template::CreatorCampaignFailed,
        campaign,
        outcome_fields(campaign),
        now,
    )
}

/// A receipt for each charge: (campaign, the collected pledge, the provider's charge id). One
/// statement for all of them.
pub fn payment_receipts(
    conn: &mut DbConn,
    receipts: &[(&CampaignRow, &PledgeRow, &str)],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let charged_at = instant(now.naive_utc());
    let emails: Vec<ToUser> = receipts
        .iter()
        .map(|(campaign, pledge, charge_id)| {
            let extra = json!({ "charge_id": charge_id, "charged_at": charged_at });
            backer_email(campaign, pledge, format!("pledge:{}", pledge.id), extra)
        })
        .collect();
    outbox::queue_for_users(
        conn,
        Template::PaymentReceipt.as_str(),
        Template::PaymentReceipt.addresses(),
        &emails,
        now.naive_utc(),
    )
    .map(drop)
}

pub struct Failure<'a> {
    pub attempt_id: i64,
    pub code: &'a str,
    pub retry_at: NaiveDateTime,
    pub drop_at: NaiveDateTime,
}

/// One per failed attempt: a pledge that stays errored hears again at each retry (every 48 h).
pub fn payment_failed(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    failure: &Failure<'_>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let extra = json!({
        "failure_code": failure.code,
        "retry_at": instant(failure.retry_at),
        "drop_at": instant(failure.drop_at),
    });
    let subject = format!("charge-attempt:{}", failure.attempt_id);
    to_backer(
        conn,
        Template::PaymentFailed,
        campaign,
        pledge,
        &subject,
        extra,
        now,
    )
}

pub fn pledge_dropped(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    // A late pledge is dropped at its first decline, in the backer's own request.
    let extra = json!({ "late": pledge.late });
    about_pledge(conn, Template::PledgeDropped, campaign, pledge, extra, now)
}

pub fn refund_issued(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    about_pledge(conn, Template::RefundIssued, campaign, pledge, json!({}), now)
}

pub struct Update<'a> {
    pub id: i64,
    pub title: &'a str,
    pub body: &'a str,
}

/// To everyone who still backs the campaign (active, errored or collected pledges).
pub fn campaign_update(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    update: &Update<'_>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let backing: Vec<PledgeStatus> = PledgeStatus::backing().collect();
    outbox::queue_for_backers(
        conn,
        Template::CampaignUpdate.as_str(),
        campaign.id,
        &backing,
        &format!("update:{}:pledge:", update.id),
        &with(
            campaign,
            json!({ "update_id": update.id, "update_title": update.title, "update_body": update.body }),
        ),
        now.naive_utc(),
    )
    .map(drop)
}
