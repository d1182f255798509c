//! The backer's emails after the campaign: the survey, its reminders, and the reward's shipment.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::QueryResult;
use serde_json::json;

use super::{backer_email, instant};
use crate::db::DbConn;
use crate::db::campaigns::CampaignRow;
use crate::db::outbox::{self, ToUser};
use crate::db::pledges::PledgeRow;
use crate::mail::Template;

fn queue(conn: &mut DbConn, template: Template, emails: &[ToUser], now: DateTime<Utc>) -> QueryResult<()> {
    if emails.is_empty() {
        return Ok(());
    }
    outbox::queue_for_users(
        conn,
        template.as_str(),
        template.addresses(),
        emails,
        now.naive_utc(),
    )
    .map(drop)
}

/// One invitation per pledge (`pledge:{id}`), with the survey's link and lock time.
pub fn survey_invitations(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledges: &[&PledgeRow],
    lock_at: NaiveDateTime,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let emails: Vec<ToUser> = pledges
        .iter()
        .map(|p| {
            backer_email(
                campaign,
                p,
                format!("pledge:{}", p.id),
                json!({ "lock_at": instant(lock_at) }),
            )
        })
        .collect();
    queue(conn, Template::Survey, &emails, now)
}

/// The `n`th reminder of a pledge's unanswered survey (`survey-reminder:{pledge id}:{n}`).
pub struct Reminder<'a> {
    pub campaign: &'a CampaignRow,
    pub pledge: &'a PledgeRow,
    pub lock_at: NaiveDateTime,
    pub n: i32,
}

pub fn survey_reminders(
    conn: &mut DbConn,
    reminders: &[Reminder<'_>],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let emails: Vec<ToUser> = reminders
        .iter()
        .map(|r| {
            backer_email(
                r.campaign,
                r.pledge,
                format!("survey-reminder:{}:{}", r.pledge.id, r.n),
                json!({ "lock_at": instant(r.lock_at), "reminder": r.n }),
            )
        })
        .collect();
    queue(conn, Template::SurveyReminder, &emails, now)
}

/// Once per pledge (`pledge:{id}`): a corrected tracking number is not sent again.
pub fn reward_shipped(
    conn: &mut DbConn,
    campaign: &CampaignRow,
    pledge: &PledgeRow,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let extra = json!({ "carrier": pledge.carrier, "tracking_number": pledge.tracking_number });
    let email = backer_email(campaign, pledge, format!("pledge:{}", pledge.id), extra);
    queue(conn, Template::RewardShipped, &[email], now)
}
