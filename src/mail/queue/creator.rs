//! The creator's emails about their campaign: launched, ending, successful (and, with the
//! backers' emails in the parent module, failed).

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use serde_json::{Value, json};

use super::{instant, to_user, with};
use crate::db::DbConn;
use crate::db::campaigns::CampaignRow;
use crate::mail::Template;

/// An email to the campaign's creator, once per campaign and template (`campaign:{id}`).
pub(super) fn to_creator(
    conn: &mut DbConn,
    template: Template,
    campaign: &CampaignRow,
    extra: Value,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let context = with(campaign, extra);
    let subject = format!("campaign:{}", campaign.id);
    to_user(conn, template, campaign.owner_id, &subject, &context, now)
}

/// `campaign` is the launched row (with its deadline).
pub fn campaign_launched(conn: &mut DbConn, campaign: &CampaignRow, now: DateTime<Utc>) -> QueryResult<()> {
    to_creator(
        conn,
        Template::CampaignLaunched,
        campaign,
        json!({
            "goal_minor": campaign.goal_minor.unwrap_or_default(),
            "deadline": campaign.deadline.map(instant),
        }),
        now,
    )
}

pub fn campaign_ending(conn: &mut DbConn, campaign: &CampaignRow, now: DateTime<Utc>) -> QueryResult<()> {
    to_creator(
        conn,
        Template::CampaignEnding,
        campaign,
        json!({
            "pledged_minor": campaign.pledged_minor,
            "goal_minor": campaign.goal_minor.unwrap_or_default(),
            "backer_count": campaign.backer_count,
            "deadline": campaign.deadline.map(instant),
        }),
        now,
    )
}

/// The payout figures of a completed campaign.
pub struct Payout {
    pub collected_minor: i64,
    pub collected_pledges: i64,
    pub dropped_pledges: i64,
    pub processing_fees_minor: i64,
    pub platform_fee_minor: i64,
    pub payout_minor: i64,
}

pub fn campaign_successful(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    payout: &Payout,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    to_creator(
        conn,
        Template::CampaignSuccessful,
        campaign,
        json!({
            "collected_minor": payout.collected_minor,
            "collected_pledges": payout.collected_pledges,
            "dropped_pledges": payout.dropped_pledges,
            "processing_fees_minor": payout.processing_fees_minor,
            "platform_fee_minor": payout.platform_fee_minor,
            "payout_minor": payout.payout_minor,
        }),
        now,
    )
}
